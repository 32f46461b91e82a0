/* nfa.c — placeholder, being written. */
