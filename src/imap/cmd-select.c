/* SELECT and EXAMINE (with CONDSTORE and QRESYNC), CLOSE, UNSELECT,
 * EXPUNGE and UID EXPUNGE. */

#include "imap-private.h"
#include "lib/num.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

struct qresync {
	uint32_t uidvalidity;
	uint64_t modseq;
	const char *known_uids;
};

static int parse_qresync(struct imap_cmd *cmd, const struct imap_arg *l, struct qresync *q)
{
	uint64_t v;
	if (l->type != IMAP_ARG_LIST || l->count < 2 || l->count > 4 ||
	    l->list[0].type != IMAP_ARG_ATOM || num_parse_u64(l->list[0].str, &v) < 0 ||
	    v == 0 || v > UINT32_MAX || l->list[1].type != IMAP_ARG_ATOM ||
	    num_parse_u64(l->list[1].str, &q->modseq) < 0 || q->modseq == 0) {
		imap_cmd_bad(cmd, "Invalid QRESYNC parameters.");
		return -1;
	}
	q->uidvalidity = (uint32_t)v;
	if (l->count >= 3) {
		if (l->list[2].type != IMAP_ARG_ATOM) {
			imap_cmd_bad(cmd, "Invalid QRESYNC known-uids.");
			return -1;
		}
		q->known_uids = l->list[2].str;
	}
	return 0;
}

/* RFC 7162 3.2.5.1: what the client missed since its MODSEQ. */
static void qresync_report(struct imap_cmd *cmd, struct mailbox *mb, const struct qresync *q)
{
	struct imap_client *c = cmd->client;
	struct imap_view *v = c->view;
	if (q->uidvalidity != v->uidvalidity || q->modseq >= v->modseq)
		return;
	struct imap_seqset known = { 0 };
	if (q->known_uids != NULL) {
		if (imap_seqset_parse(cmd->pool, q->known_uids, &known) < 0)
			return;
		imap_seqset_resolve(&known, v->uidnext > 1 ? v->uidnext - 1 : 0);
	}
	uint32_t *gone;
	size_t ngone;
	const char *err;
	if (mailbox_expunged(mb, v->folder_id, q->modseq, 1, UINT32_MAX - 1, &gone, &ngone, &err) ==
	    STORE_OK) {
		size_t k = 0;
		for (size_t i = 0; i < ngone; i++) {
			if (q->known_uids == NULL || imap_seqset_contains(&known, gone[i]))
				gone[k++] = gone[i];
		}
		if (k > 0) {
			buf_append_str(&cmd->out, "* VANISHED (EARLIER) ");
			imap_numbers_write(&cmd->out, gone, k);
			buf_append_str(&cmd->out, "\r\n");
		}
		free(gone);
	}
	struct store_change *ch;
	size_t nch;
	if (mailbox_changes(mb, cmd->pool, v->folder_id, q->modseq, 1, UINT32_MAX - 1, &ch, &nch,
			    &err) != STORE_OK)
		return;
	for (size_t i = 0; i < nch; i++) {
		uint32_t seq = seqmap_seq(&v->map, ch[i].uid);
		if (seq == 0)
			continue;
		buf_printf(&cmd->out, "* %u FETCH (UID %u FLAGS ", seq, ch[i].uid);
		imap_write_flags(c, &cmd->out, ch[i].uid, ch[i].flags, ch[i].keywords);
		buf_printf(&cmd->out, " MODSEQ (%llu))\r\n", (unsigned long long)ch[i].modseq);
	}
}

static bool do_select(struct imap_cmd *cmd, bool readonly)
{
	struct imap_client *c = cmd->client;
	const char *wire;
	if (cmd->count < 1 || cmd->count > 2 || !imap_arg_astring(&cmd->args[0], &wire) ||
	    (cmd->count == 2 && cmd->args[1].type != IMAP_ARG_LIST)) {
		imap_cmd_bad(cmd, "Usage: %s mailbox [(CONDSTORE | QRESYNC (...))]", cmd->name);
		return true;
	}
	struct qresync q = { 0 };
	bool want_qresync = false;
	if (cmd->count == 2) {
		const struct imap_arg *p = &cmd->args[1];
		for (unsigned int i = 0; i < p->count; i++) {
			if (imap_arg_atom_is(&p->list[i], "CONDSTORE")) {
				c->condstore = true;
			} else if (imap_arg_atom_is(&p->list[i], "QRESYNC") && i + 1 < p->count) {
				if (!c->qresync) {
					imap_cmd_bad(cmd, "QRESYNC is not enabled.");
					return true;
				}
				if (parse_qresync(cmd, &p->list[++i], &q) < 0)
					return true;
				want_qresync = true;
			} else {
				imap_cmd_bad(cmd, "Unknown %s parameter.", cmd->name);
				return true;
			}
		}
	}
	if (c->view != NULL) {
		imap_view_close(c);
		c->state = STATE_AUTH;
		if (c->qresync)
			imap_cmd_untagged(cmd, "OK [CLOSED] Previous mailbox closed.");
	}
	const char *name = imap_name_in(cmd, wire);
	if (name == NULL)
		return true;
	struct mailbox *mb = imap_client_mailbox(cmd);
	if (mb == NULL)
		return true;
	const char *err = NULL;
	int r = imap_view_open(cmd, mb, name, readonly, &err);
	if (r != STORE_OK) {
		c->state = STATE_AUTH;
		imap_cmd_store_error(cmd, r, err);
		return true;
	}
	if (want_qresync)
		qresync_report(cmd, mb, &q);
	imap_cmd_ok(cmd, "[%s] %s completed.", readonly ? "READ-ONLY" : "READ-WRITE",
		    readonly ? "Examine" : "Select");
	return true;
}

bool imap_cmd_select(struct imap_cmd *cmd)
{
	return do_select(cmd, false);
}

bool imap_cmd_examine(struct imap_cmd *cmd)
{
	return do_select(cmd, true);
}

bool imap_cmd_close(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->client;
	if (cmd->count != 0) {
		imap_cmd_bad(cmd, "CLOSE takes no arguments.");
		return true;
	}
	if (!c->view->readonly) {
		struct mailbox *mb = imap_client_mailbox(cmd);
		if (mb == NULL)
			return true;
		uint32_t *gone;
		size_t n;
		const char *err;
		/* silently: no EXPUNGE responses for CLOSE */
		if (mailbox_expunge_deleted(mb, c->view->folder_id, NULL, 0, &gone, &n, &err) == STORE_OK)
			free(gone);
	}
	imap_view_close(c);
	c->state = STATE_AUTH;
	imap_cmd_ok(cmd, "Close completed.");
	return true;
}

bool imap_cmd_unselect(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->client;
	if (cmd->count != 0) {
		imap_cmd_bad(cmd, "UNSELECT takes no arguments.");
		return true;
	}
	imap_view_close(c);
	c->state = STATE_AUTH;
	imap_cmd_ok(cmd, "Unselect completed.");
	return true;
}

bool imap_cmd_expunge(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->client;
	uint32_t *uids = NULL;
	size_t nu = 0;
	if (cmd->uid) {
		if (cmd->count != 1 || cmd->args[0].type != IMAP_ARG_ATOM) {
			imap_cmd_bad(cmd, "Usage: UID EXPUNGE uid-set");
			return true;
		}
		if (imap_uids_from_set(cmd, cmd->args[0].str, true, &uids, &nu) < 0)
			return true;
	} else if (cmd->count != 0) {
		imap_cmd_bad(cmd, "EXPUNGE takes no arguments.");
		return true;
	}
	if (c->view->readonly) {
		free(uids);
		imap_cmd_no(cmd, "[READ-ONLY] The mailbox is read-only.");
		return true;
	}
	if (cmd->uid && nu == 0) {
		/* an empty set: NULL would mean every message */
		imap_cmd_ok(cmd, "Expunge completed.");
		return true;
	}
	struct mailbox *mb = imap_client_mailbox(cmd);
	if (mb == NULL) {
		free(uids);
		return true;
	}
	uint32_t *gone;
	size_t n;
	const char *err;
	int r = mailbox_expunge_deleted(mb, c->view->folder_id, cmd->uid ? uids : NULL, nu, &gone, &n,
					&err);
	free(uids);
	if (r != STORE_OK) {
		imap_cmd_store_error(cmd, r, err);
		return true;
	}
	imap_view_expunged(c, &cmd->out, gone, n);
	free(gone);
	imap_cmd_ok(cmd, "Expunge completed.");
	return true;
}
