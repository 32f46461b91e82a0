/* cmd_check.c — placeholder, being written. */
