/* window_plan.c — placeholder, being written. */
