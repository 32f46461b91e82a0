/* ruleset.c — placeholder, being written. */
