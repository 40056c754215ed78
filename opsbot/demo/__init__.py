"""The one-command demo: a seeded plant, the bot, the WeCom sandbox with its phone simulator, OPC UA machines."""
