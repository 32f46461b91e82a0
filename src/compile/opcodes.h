/* opcodes.h — placeholder, being written. */
