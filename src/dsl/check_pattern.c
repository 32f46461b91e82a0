/* check_pattern.c — placeholder, being written. */
