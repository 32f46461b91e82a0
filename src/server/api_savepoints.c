/* api_savepoints.c — savepoints asked for over HTTP (POST /savepoints) and
 * before a rule is put: the barrier is taken at once, the store writes in
 * the background, and the server remembers how each one ended so the
 * caller can ask (GET /savepoints/{id}). */
#include <stdio.h>
#include <string.h>

#include "server/server-internal.h"
#include "state/checkpointer.h"

static void savepoint_done(void *user, int ok, const char *error)
{
    struct weir_savepoint_status *sp = user;
    sp->state = ok == 0 ? SAVEPOINT_COMPLETE : SAVEPOINT_FAILED;
    snprintf(sp->error, sizeof sp->error, "%s", ok == 0 || !error ? "" : error);
}

int weir_server_savepoint_create(weir_server *srv, const char *name, char *id_out,
                                 size_t id_cap, char *err, size_t errlen)
{
    if (!srv->checkpointer) {
        snprintf(err, errlen, "%s", weir_server_no_store(srv));
        return 409;
    }
    if (srv->stopping) {
        snprintf(err, errlen, "shutting down");
        return 503;
    }
    if (name && weir_server_savepoint_find(srv, name)) {
        snprintf(err, errlen, "a savepoint named '%s' was already taken", name);
        return 409;
    }
    size_t ring = sizeof srv->savepoints / sizeof srv->savepoints[0];
    struct weir_savepoint_status *sp = &srv->savepoints[srv->n_savepoints % ring];
    if (srv->n_savepoints >= ring && sp->state == SAVEPOINT_WRITING) {
        snprintf(err, errlen, "too many savepoints being written");
        return 503;
    }
    memset(sp, 0, sizeof *sp);
    sp->srv = srv;
    sp->state = SAVEPOINT_WRITING;
    char id[WEIR_STORE_NAME_MAX + 1];
    if (weir_checkpointer_savepoint(srv->checkpointer, name, id, sizeof id, savepoint_done, sp,
                                    err, errlen) != 0) {
        sp->id[0] = '\0';
        return name && !weir_store_id_valid(WEIR_STORE_SAVEPOINT, name, err, errlen) ? 400
                                                                                      : 500;
    }
    /* the callback may have run already (a store without a worker) */
    snprintf(sp->id, sizeof sp->id, "%s", id);
    srv->n_savepoints++;
    snprintf(id_out, id_cap, "%s", id);
    return 202;
}

const struct weir_savepoint_status *weir_server_savepoint_find(const weir_server *srv,
                                                               const char *id)
{
    size_t ring = sizeof srv->savepoints / sizeof srv->savepoints[0];
    for (size_t i = 0; i < ring && i < srv->n_savepoints; i++)
        if (strcmp(srv->savepoints[i].id, id) == 0)
            return &srv->savepoints[i];
    return NULL;
}
