"""The opsbot program: the assembly of the core, the feature handlers and jobs, the CLI and the demo.

It sits above bot/, handlers/, jobs/ and integrations/ and is the only package that imports them all.
"""
