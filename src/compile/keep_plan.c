/* keep_plan.c — compiling a rule's `keep` (see keep_plan.h).
 *
 * The checker has typed every item, so this only picks each item's
 * implementation: a window aggregate vtable for count/sum/avg/min/max (the
 * same ones window rules use, so a kept avg rounds exactly as a window's
 * does), or a value table for distinct and count distinct; and it numbers
 * the bucket states and tables. */
#include "compile/keep_plan.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dsl/builtins.h"

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static weir_agg_kind item_agg_kind(weir_builtin b)
{
    switch (b) {
    case WEIR_BUILTIN_SUM: return WEIR_AGG_SUM;
    case WEIR_BUILTIN_AVG: return WEIR_AGG_AVG;
    case WEIR_BUILTIN_MIN: return WEIR_AGG_MIN;
    case WEIR_BUILTIN_MAX: return WEIR_AGG_MAX;
    default: return WEIR_AGG_COUNT;
    }
}

/* Fills one item from its checked AST; false after reporting. */
static bool compile_item(weir_keep_plan *plan, weir_keep_item *it, const ast_keep_item *src,
                         const weir_expr_options *opt)
{
    if (!(it->name = dup_str(src->name.name)))
        return false;
    it->type = src->type;
    if (src->set) {
        it->kind = WEIR_KEEP_SET;
        it->arg_type = src->value->type;
        it->slot = plan->n_tables++;
        return (it->arg = weir_expr_compile(src->value, opt)) != NULL;
    }
    const ast_expr *call = src->value;
    const ast_expr *arg = call->u.call.args;
    if (call->kind != AST_EXPR_CALL) {
        if (opt->diags)
            weir_diag_error(opt->diags, call->loc, "internal error: memory '%s' is not an aggregate",
                            src->name.name);
        return false;
    }
    it->arg_type = arg ? arg->type : WEIR_T_ERROR;
    if (arg && !(it->arg = weir_expr_compile(arg, opt)))
        return false;
    if (call->u.call.distinct) {
        it->kind = WEIR_KEEP_COUNT_DISTINCT;
        it->slot = plan->n_tables++;
        return true;
    }
    weir_agg_kind kind = item_agg_kind((weir_builtin)call->u.call.builtin);
    it->kind = WEIR_KEEP_AGG;
    it->fn = weir_agg_fn_for(kind, it->arg_type, arg != NULL);
    if (it->fn == WEIR_AGG_FN__COUNT) {
        if (opt->diags)
            weir_diag_error(opt->diags, call->loc, "%s() over %s values cannot be kept",
                            weir_agg_kind_name(kind), weir_type_name(it->arg_type));
        return false;
    }
    it->ops = weir_agg_ops_get(it->fn);
    it->slot = plan->n_aggs++;
    return true;
}

weir_keep_plan *weir_keep_plan_new(const ast_keep *keep, unsigned stream,
                                   const weir_expr_options *opt)
{
    static const weir_expr_options no_opt = {0};
    if (!opt)
        opt = &no_opt;
    if (!keep->present || keep->bucket_ms <= 0 || keep->for_ms <= 0)
        return NULL;
    weir_keep_plan *plan = calloc(1, sizeof *plan);
    if (!plan)
        return NULL;
    plan->stream = stream;
    plan->for_ms = keep->for_ms;
    plan->bucket_ms = keep->bucket_ms;
    /* bucket starts k*w live while start + w + for > now >= newest start:
     * ceil(for / w) + 1 of them at most */
    int64_t max = keep->for_ms / keep->bucket_ms + 2;
    plan->max_buckets = max > UINT32_MAX ? UINT32_MAX : (uint32_t)max;
    if (keep->where && !(plan->where = weir_expr_compile(keep->where, opt)))
        goto fail;
    plan->items = calloc(keep->n_items ? keep->n_items : 1, sizeof *plan->items);
    if (!plan->items)
        goto fail;
    for (const ast_keep_item *src = keep->items; src; src = src->next) {
        weir_keep_item *it = &plan->items[plan->n_items++];
        if (!compile_item(plan, it, src, opt))
            goto fail;
    }
    return plan;
fail:
    weir_keep_plan_free(plan);
    return NULL;
}

void weir_keep_plan_free(weir_keep_plan *plan)
{
    if (!plan)
        return;
    weir_expr_program_free(plan->where);
    for (unsigned i = 0; i < plan->n_items && plan->items; i++) {
        free(plan->items[i].name);
        weir_expr_program_free(plan->items[i].arg);
    }
    free(plan->items);
    free(plan);
}

int weir_keep_plan_dump(const weir_keep_plan *plan, FILE *out)
{
    fprintf(out, "  keep: stream %u, for %" PRId64 "ms, buckets of %" PRId64
                 "ms (at most %" PRIu32 " per key), %u aggregate%s, %u table%s\n",
            plan->stream, plan->for_ms, plan->bucket_ms, plan->max_buckets, plan->n_aggs,
            plan->n_aggs == 1 ? "" : "s", plan->n_tables, plan->n_tables == 1 ? "" : "s");
    if (plan->where) {
        fputs("  keep.where:\n", out);
        weir_expr_dump(plan->where, out);
    }
    for (unsigned i = 0; i < plan->n_items; i++) {
        const weir_keep_item *it = &plan->items[i];
        switch (it->kind) {
        case WEIR_KEEP_AGG:
            fprintf(out, "  memory %u %s: %s", i, it->name, it->ops->name);
            if (it->arg)
                fprintf(out, "(%s)", weir_type_name(it->arg_type));
            fprintf(out, " -> %s, bucket slot %u\n", weir_type_name(it->type), it->slot);
            break;
        case WEIR_KEEP_SET:
            fprintf(out, "  memory %u %s: distinct(%s), table %u\n", i, it->name,
                    weir_type_name(it->arg_type), it->slot);
            break;
        case WEIR_KEEP_COUNT_DISTINCT:
            fprintf(out, "  memory %u %s: count(distinct %s), table %u\n", i, it->name,
                    weir_type_name(it->arg_type), it->slot);
            break;
        }
        if (it->arg)
            weir_expr_dump(it->arg, out);
    }
    return ferror(out) ? -1 : 0;
}
