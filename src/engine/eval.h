/* eval.h — placeholder, being written. */
