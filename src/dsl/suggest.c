/* suggest.c — placeholder, being written. */
