/* opcodes.h — the instruction set of weir's expression programs, defined once.
 *
 * One X-macro list drives the opcode enum (expr.h), the disassembler's names
 * and operand formats (weir_expr_dump) and the stack effect the compiler
 * uses to compute a program's maximum stack depth. Adding an opcode is one
 * line here plus one case in the evaluator (engine/eval.c); the compiler
 * refuses to build if the evaluator's switch misses a case (-Wswitch).
 *
 * Opcodes are specialised by operand type (ADD_I64, ADD_DEC, LT_STR, ...):
 * the checker typed every expression, so the compiler picks the opcode and
 * inserts explicit conversions (I2D, I2F, D2F) and the evaluator never looks
 * at a type at run time. Type classes in names:
 *   I64  int, and every int64-backed type compared or added as plain
 *        integers: time and duration (milliseconds), decimal where plain
 *        integer arithmetic is exact (+, -, comparisons, negation)
 *   DEC  decimal where scaling matters (*, /, %)
 *   F64  float
 *   STR  string (byte-wise comparison, like memcmp)
 *   BOOL bool
 *
 * X(NAME, pops, pushes, operand format, "what it does")
 *
 * Operand formats (weir_expr_operands) say which fields of weir_instr the
 * instruction reads, for the disassembler:
 *   NONE    —
 *   CONST   c = index into the constant pool
 *   FIELD   c = field index in the event (ast_field.index)
 *   STEP    a = step index (ast_step.index)
 *   STEPF   a = step, b = event index (0 first, -1 last), c = field
 *   STEPAGG a = step, c = field, d = weir_agg_fn (window_plan.h)
 *   STEPCOL a = step, c = field
 *   SLOT    c = aggregate slot (window rules)
 *   JUMP    b = absolute target instruction
 *   SET     c = index into the program's value sets
 *   MEMORY  c = item of the rule's keep (ast_keep_item.index), read from
 *           the key's memory (engine/key_memory.h)
 *
 * Every value may be "missing" (SQL NULL, see expr.h); each opcode
 * propagates it, which is a flag OR, not a type test. */
#ifndef WEIR_COMPILE_OPCODES_H
#define WEIR_COMPILE_OPCODES_H

#define WEIR_OPCODE_LIST(X)                                                   \
    /* loads */                                                               \
    X(CONST, 0, 1, CONST, "push a constant")                                  \
    X(FIELD, 0, 1, FIELD, "push a field of the current event")                \
    X(STEP_FIELD, 0, 1, STEPF, "push a field of the i-th event of a step")    \
    X(STEP_COUNT, 0, 1, STEP, "push the number of events a step matched")     \
    X(STEP_AGG, 0, 1, STEPAGG, "fold a field over a step's events")           \
    X(STEP_CDIST_I64, 0, 1, STEPCOL, "count distinct int64-backed values")    \
    X(STEP_CDIST_F64, 0, 1, STEPCOL, "count distinct floats of a step")       \
    X(STEP_CDIST_STR, 0, 1, STEPCOL, "count distinct strings of a step")      \
    X(STEP_CDIST_BOOL, 0, 1, STEPCOL, "count distinct bools of a step")       \
    X(AGG, 0, 1, SLOT, "push a finished window aggregate")                    \
    X(KEY, 0, 1, NONE, "push the rule's key value")                           \
    X(WINDOW_START, 0, 1, NONE, "push the window's start time")               \
    X(WINDOW_END, 0, 1, NONE, "push the window's end time")                   \
    X(MEM_VALUE, 0, 1, MEMORY, "push a memory of the rule's keep")            \
    /* conversions (widening, as the checker typed it) */                     \
    X(I2D, 1, 1, NONE, "int to decimal")                                      \
    X(I2F, 1, 1, NONE, "int to float")                                        \
    X(D2F, 1, 1, NONE, "decimal to float")                                    \
    /* arithmetic; overflow and division by zero give missing */             \
    X(ADD_I64, 2, 1, NONE, "a + b")                                           \
    X(SUB_I64, 2, 1, NONE, "a - b")                                           \
    X(MUL_I64, 2, 1, NONE, "a * b")                                           \
    X(DIV_I64, 2, 1, NONE, "a / b, truncated toward zero")                    \
    X(MOD_I64, 2, 1, NONE, "a % b, sign of a")                                \
    X(NEG_I64, 1, 1, NONE, "-a")                                              \
    X(ABS_I64, 1, 1, NONE, "abs(a)")                                          \
    X(MUL_DEC, 2, 1, NONE, "a * b, fixed point, rounded half away from 0")    \
    X(DIV_DEC, 2, 1, NONE, "a / b, fixed point, rounded half away from 0")    \
    X(MUL_DEC_I64, 2, 1, NONE, "a * b: a int64-backed, b decimal, rounded")   \
    X(ADD_F64, 2, 1, NONE, "a + b")                                           \
    X(SUB_F64, 2, 1, NONE, "a - b")                                           \
    X(MUL_F64, 2, 1, NONE, "a * b")                                           \
    X(DIV_F64, 2, 1, NONE, "a / b")                                           \
    X(MOD_F64, 2, 1, NONE, "fmod(a, b)")                                      \
    X(NEG_F64, 1, 1, NONE, "-a")                                              \
    X(ABS_F64, 1, 1, NONE, "abs(a)")                                          \
    /* comparisons */                                                         \
    X(EQ_I64, 2, 1, NONE, "a == b")                                           \
    X(NE_I64, 2, 1, NONE, "a != b")                                           \
    X(LT_I64, 2, 1, NONE, "a < b")                                            \
    X(LE_I64, 2, 1, NONE, "a <= b")                                           \
    X(GT_I64, 2, 1, NONE, "a > b")                                            \
    X(GE_I64, 2, 1, NONE, "a >= b")                                           \
    X(EQ_F64, 2, 1, NONE, "a == b")                                           \
    X(NE_F64, 2, 1, NONE, "a != b")                                           \
    X(LT_F64, 2, 1, NONE, "a < b")                                            \
    X(LE_F64, 2, 1, NONE, "a <= b")                                           \
    X(GT_F64, 2, 1, NONE, "a > b")                                            \
    X(GE_F64, 2, 1, NONE, "a >= b")                                           \
    X(EQ_STR, 2, 1, NONE, "a == b")                                           \
    X(NE_STR, 2, 1, NONE, "a != b")                                           \
    X(LT_STR, 2, 1, NONE, "a < b (bytes)")                                    \
    X(LE_STR, 2, 1, NONE, "a <= b (bytes)")                                   \
    X(GT_STR, 2, 1, NONE, "a > b (bytes)")                                    \
    X(GE_STR, 2, 1, NONE, "a >= b (bytes)")                                   \
    X(EQ_BOOL, 2, 1, NONE, "a == b")                                          \
    X(NE_BOOL, 2, 1, NONE, "a != b")                                          \
    /* logic: three-valued (true, false, missing), as SQL */                  \
    X(NOT, 1, 1, NONE, "not a")                                               \
    X(AND_JUMP, 1, 1, JUMP, "if a is false: jump, keeping it (short cut)")    \
    X(OR_JUMP, 1, 1, JUMP, "if a is true: jump, keeping it (short cut)")      \
    X(AND, 2, 1, NONE, "a and b (a not false)")                               \
    X(OR, 2, 1, NONE, "a or b (a not true)")                                  \
    X(IN_SET, 1, 1, SET, "a in set")                                          \
    X(MEM_IN, 1, 1, MEMORY, "a in a memory kept with distinct()")             \
    /* builtins */                                                            \
    X(LOWER, 1, 1, NONE, "lower(s), into the scratch area")                   \
    X(UPPER, 1, 1, NONE, "upper(s), into the scratch area")                   \
    X(LENGTH, 1, 1, NONE, "length(s) in bytes")                               \
    X(CONTAINS, 2, 1, NONE, "contains(s, part)")                              \
    X(STARTS_WITH, 2, 1, NONE, "starts_with(s, prefix)")                      \
    X(ENDS_WITH, 2, 1, NONE, "ends_with(s, suffix)")                          \
    X(GEO_DISTANCE, 4, 1, NONE, "haversine distance in km")                   \
    X(HOURS, 1, 1, NONE, "duration in hours, as a float")                     \
    X(HOUR_OF_DAY, 1, 1, NONE, "hour of a time, 0-23 UTC")                    \
    X(DAY_OF_WEEK, 1, 1, NONE, "day of a time, 1 Monday .. 7 Sunday, UTC")

/* How an instruction uses its operand fields (see the list above). */
typedef enum weir_expr_operands {
    WEIR_OPS_NONE,
    WEIR_OPS_CONST,
    WEIR_OPS_FIELD,
    WEIR_OPS_STEP,
    WEIR_OPS_STEPF,
    WEIR_OPS_STEPAGG,
    WEIR_OPS_STEPCOL,
    WEIR_OPS_SLOT,
    WEIR_OPS_JUMP,
    WEIR_OPS_SET,
    WEIR_OPS_MEMORY,
} weir_expr_operands;

typedef enum weir_opcode {
#define WEIR_OPCODE_ENUM(name, pops, pushes, fmt, doc) WEIR_OP_##name,
    WEIR_OPCODE_LIST(WEIR_OPCODE_ENUM)
#undef WEIR_OPCODE_ENUM
    WEIR_OP__COUNT
} weir_opcode;

/* Static facts about one opcode, from the list above. */
typedef struct weir_opcode_info {
    const char *name;  /* "ADD_I64" */
    unsigned char pops, pushes;
    weir_expr_operands operands;
    const char *doc;
} weir_opcode_info;

/* Info for `op` (< WEIR_OP__COUNT). Defined in expr.c. */
const weir_opcode_info *weir_opcode_get(weir_opcode op);

#endif
