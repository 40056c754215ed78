"""The monthly review (月度复盘): a scope's figures for a month against last month, last year, the baseline and
the targets, with the Paretos, issues, patrols, training and adoption — built from the features' own queries."""
