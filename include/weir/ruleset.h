/* weir/ruleset.h — loading and compiling rule files.
 *
 * A weir_ruleset is everything a set of rule files declares (streams,
 * sinks, reference lists, rules), checked and compiled into plans the engine
 * runs: an NFA per pattern rule, an aggregation plan per window rule.
 *
 * Ownership: weir_ruleset_compile*() returns a ruleset the caller frees with
 * weir_ruleset_free(). Diagnostics go to the callback in the options as they
 * are found; nothing is printed by the library itself. */
#ifndef WEIR_RULESET_H
#define WEIR_RULESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "weir/diag.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weir_ruleset weir_ruleset;

typedef struct weir_compile_options {
    weir_diag_cb diag;   /* may be NULL */
    void *diag_user;
    bool no_warnings;    /* check everything but report no warnings */
} weir_compile_options;

/* Result of a compile: the exit statuses of `weir check`. */
typedef enum weir_compile_status {
    WEIR_COMPILE_OK = 0,          /* *out is set */
    WEIR_COMPILE_RULE_ERRORS = 1, /* diagnostics were reported; *out is NULL */
    WEIR_COMPILE_IO_ERROR = 2,    /* a path could not be read; *out is NULL */
} weir_compile_status;

/* Loads every path (a .weir file, or a directory searched recursively for
 * .weir files, read in name order) as one rule set: names declared in any
 * file are visible in all of them, and `include`d files are read once. */
weir_compile_status weir_ruleset_compile(const char *const *paths, size_t n_paths,
                                         const weir_compile_options *opt,
                                         weir_ruleset **out);

/* The same for rule text held in memory; `name` is used in diagnostics. An
 * `include` in such text is resolved relative to the current directory. */
weir_compile_status weir_ruleset_compile_text(const char *name, const char *text,
                                              size_t len,
                                              const weir_compile_options *opt,
                                              weir_ruleset **out);

/* Frees the rule set and everything it owns. Accepts NULL. With other
 * owners (weir_ruleset_retain), only drops one ownership. */
void weir_ruleset_free(weir_ruleset *rs);
/* One more owner: each weir_ruleset_free drops one; the last frees. Safe
 * across threads. Returns rs. */
weir_ruleset *weir_ruleset_retain(const weir_ruleset *rs);

size_t weir_ruleset_rule_count(const weir_ruleset *rs);
/* Name of rule i (0 <= i < count), valid while the ruleset lives. */
const char *weir_ruleset_rule_name(const weir_ruleset *rs, size_t i);

/* Streams the rule set declares, in declaration order. */
size_t weir_ruleset_stream_count(const weir_ruleset *rs);
const char *weir_ruleset_stream_name(const weir_ruleset *rs, size_t i);

/* The stream rule i reads when it reads only one, else NULL. */
const char *weir_ruleset_rule_single_stream(const weir_ruleset *rs, size_t i);

/* The field rule i keys by (`on payments by card`: "card"), or NULL when
 * its inputs key by fields of different names. A server that splits keys
 * over shards needs every rule to key by the same field. */
const char *weir_ruleset_rule_key(const weir_ruleset *rs, size_t i);

/* For a server that splits keys over shards per stream: the field every
 * rule reading stream i keys it by (`on payments by card`: "card"). NULL
 * when no rule reads the stream, or when two rules key it by different
 * fields; then *conflict (when not NULL) is the index of the second of
 * them, else SIZE_MAX. */
const char *weir_ruleset_stream_key(const weir_ruleset *rs, size_t i, size_t *conflict);

/* The Kafka topic stream i declares (`stream payments from kafka
 * "payments"`), or NULL. */
const char *weir_ruleset_stream_topic(const weir_ruleset *rs, size_t i);

/* The stream a Kafka topic carries: the index of the one stream declared
 * `from kafka "topic"`; SIZE_MAX when none or several are (its events then
 * name their stream). */
size_t weir_ruleset_topic_stream(const weir_ruleset *rs, const char *topic);

/* A fingerprint of what rule i compiles from: a 64-bit FNV-1a hash of its
 * declaration followed by those of the streams it reads, each with
 * comments dropped and white space kept only where it separates two words
 * or numbers. Text that differs only in comments and layout has the same
 * fingerprint; any other change gives another one (but for 2^-64 odds).
 * 0 for an index out of range. */
uint64_t weir_ruleset_rule_fingerprint(const weir_ruleset *rs, size_t i);

/* Path of the file that declares rule i, as given to the compiler. */
const char *weir_ruleset_rule_file(const weir_ruleset *rs, size_t i);

/* Sinks the rule set declares (`sink NAME KIND "target" options`), in
 * declaration order, for a server to realise. Every pointer is valid while
 * the ruleset lives. Options not written are 0 / NULL. */
typedef struct weir_sink_info {
    const char *name;
    const char *kind;        /* "webhook", "kafka", "file" or "stdout" */
    const char *target;      /* URL, topic or path; NULL for stdout */
    long long timeout_ms;    /* webhook `timeout`; 0 when not given */
    long long retries;       /* webhook `retries`; -1 when not given */
    const char *hmac_secret; /* webhook `sign hmac "secret"`, or NULL */
    const char *hmac_env;    /* webhook `sign hmac env("NAME")`: NAME, or NULL */
    const char *brokers;     /* kafka `brokers "host:port"`, or NULL */
    const char *brokers_env; /* kafka `brokers env("NAME")`: NAME, or NULL */
    bool transactional;      /* kafka `transactional` */
} weir_sink_info;

size_t weir_ruleset_sink_count(const weir_ruleset *rs);
/* Fills *out for sink i (0 <= i < count). */
void weir_ruleset_sink(const weir_ruleset *rs, size_t i, weir_sink_info *out);

typedef enum weir_dump_format {
    WEIR_DUMP_TEXT, /* each rule's automaton or window plan, as text */
    WEIR_DUMP_DOT,  /* Graphviz, one digraph per pattern rule */
} weir_dump_format;

/* Writes every rule's compiled form. Returns 0, or -1 on a write error. */
int weir_ruleset_dump(const weir_ruleset *rs, weir_dump_format format, FILE *out);

#ifdef __cplusplus
}
#endif

#endif
