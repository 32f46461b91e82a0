/* expr.c — placeholder, being written. */
