/* kafka_conf.c — see kafka_conf.h. */
#include "io/kafka_conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* s without its leading and trailing whitespace (in place). */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

int weir_kafka_conf_load(rd_kafka_conf_t *conf, const char *path, char *err, size_t err_cap)
{
    if (!path)
        return 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_cap, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    unsigned line_no = 0;
    int rc = 0;
    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        line_no++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, err_cap, "%s:%u: expected key = value", path, line_no);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        char why[256];
        if (rd_kafka_conf_set(conf, key, value, why, sizeof why) != RD_KAFKA_CONF_OK) {
            snprintf(err, err_cap, "%s:%u: %s", path, line_no, why);
            rc = -1;
        }
    }
    free(line);
    fclose(f);
    return rc;
}

rd_kafka_topic_partition_list_t *weir_kafka_offsets_list(const char *text, size_t len,
                                                         const char *metadata)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
    const char *p = text, *end = text + len;
    while (l && p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *tab = eol ? memchr(p, '\t', (size_t)(eol - p)) : NULL;
        char topic[256], num[64];
        size_t tl = tab ? (size_t)(tab - p) : 0;
        size_t nl = tab ? (size_t)(eol - tab - 1) : 0;
        long long part, off;
        if (!tab || tl == 0 || tl >= sizeof topic || nl >= sizeof num)
            goto bad;
        memcpy(topic, p, tl);
        topic[tl] = '\0';
        memcpy(num, tab + 1, nl);
        num[nl] = '\0';
        if (sscanf(num, "%lld\t%lld", &part, &off) != 2 || part < 0 || part > INT32_MAX ||
            off < 0)
            goto bad;
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_add(l, topic, (int32_t)part);
        tp->offset = off;
        if (metadata) {
            /* librdkafka frees it with the list */
            if (!(tp->metadata = strdup(metadata)))
                goto bad;
            tp->metadata_size = strlen(metadata);
        }
        p = eol + 1;
    }
    return l;
bad:
    rd_kafka_topic_partition_list_destroy(l);
    return NULL;
}

bool weir_kafka_offsets_committed(const rd_kafka_topic_partition_list_t *want,
                                  const rd_kafka_topic_partition_list_t *got,
                                  const char *metadata)
{
    if (!want || !got || want->cnt == 0)
        return false;
    size_t ml = metadata ? strlen(metadata) : 0;
    for (int i = 0; i < want->cnt; i++) {
        const rd_kafka_topic_partition_t *w = &want->elems[i];
        const rd_kafka_topic_partition_t *g =
            rd_kafka_topic_partition_list_find(got, w->topic, w->partition);
        if (!g || g->err || g->offset != w->offset)
            return false;
        if (metadata && (g->metadata_size != ml || memcmp(g->metadata, metadata, ml) != 0))
            return false;
    }
    return true;
}
