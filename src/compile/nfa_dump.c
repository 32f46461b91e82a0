/* nfa_dump.c — placeholder, being written. */
