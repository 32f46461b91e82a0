/* plan.h — placeholder, being written. */
