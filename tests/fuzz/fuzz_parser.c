/* fuzz_parser.c — placeholder */
