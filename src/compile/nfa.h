/* nfa.h — placeholder, being written. */
