/* check-internal.h — placeholder, being written. */
