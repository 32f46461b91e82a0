/* expr.h — placeholder, being written. */
