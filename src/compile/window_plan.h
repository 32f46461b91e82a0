/* window_plan.h — placeholder, being written. */
