/* commands.h — placeholder, being written. */
