/* COPY and MOVE (RFC 6851), with COPYUID (UIDPLUS) and the owner's quota
 * checked in the same transaction as the copies. */

#include "imap-private.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

static bool do_copy(struct imap_cmd *cmd, bool move)
{
	struct imap_client *c = cmd->client;
	struct imap_view *v = c->view;
	const char *wire;
	if (cmd->count != 2 || cmd->args[0].type != IMAP_ARG_ATOM ||
	    !imap_arg_astring(&cmd->args[1], &wire)) {
		imap_cmd_bad(cmd, "Usage: %s set mailbox", cmd->name);
		return true;
	}
	if (move && v->readonly) {
		imap_cmd_no(cmd, "[READ-ONLY] The mailbox is read-only.");
		return true;
	}
	const char *name = imap_name_in(cmd, wire);
	if (name == NULL)
		return true;
	uint32_t *uids;
	size_t n;
	if (imap_uids_from_set(cmd, cmd->args[0].str, cmd->uid, &uids, &n) < 0)
		return true;
	if (n == 0) {
		free(uids);
		imap_cmd_ok(cmd, "No messages to %s.", move ? "move" : "copy");
		return true;
	}
	struct mailbox *mb = imap_client_mailbox(cmd);
	if (mb == NULL) {
		free(uids);
		return true;
	}
	uint32_t *nu = xcalloc(n, sizeof(*nu));
	uint32_t uv = 0;
	struct store_copy sc = { .quota = c->quota, .move = move };
	const char *err = NULL;
	int r = mailbox_copy_ex(mb, v->folder_id, uids, n, name, &sc, nu, &uv, &err);
	if (r != STORE_OK) {
		free(uids);
		free(nu);
		if (r == STORE_NOTFOUND)
			imap_cmd_no(cmd, "[TRYCREATE] Mailbox doesn't exist.");
		else
			imap_cmd_store_error(cmd, r, err);
		return true;
	}
	/* COPYUID pairs, in the same order */
	uint32_t *src = xmalloc(n * sizeof(*src)), *dst = xmalloc(n * sizeof(*dst));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (nu[i] != 0) {
			src[k] = uids[i];
			dst[k] = nu[i];
			k++;
		}
	}
	struct buf code;
	buf_init_pool(&code, cmd->pool, 0);
	if (k > 0) {
		buf_printf(&code, "[COPYUID %u ", uv);
		imap_numbers_write(&code, src, k);
		buf_append_c(&code, ' ');
		imap_numbers_write(&code, dst, k);
		buf_append_str(&code, "] ");
	}
	if (move) {
		if (k > 0)
			imap_cmd_untagged(cmd, "OK %sMoved UIDs.", buf_cstr(&code));
		imap_view_expunged(c, &cmd->out, src, k);
		if (k < n)
			imap_cmd_no(cmd, "[EXPUNGEISSUED] Some of the messages no longer exist.");
		else
			imap_cmd_ok(cmd, "Move completed.");
	} else if (k < n) {
		imap_cmd_no(cmd, "[EXPUNGEISSUED] Some of the messages no longer exist.");
	} else {
		imap_cmd_ok(cmd, "%sCopy completed.", buf_cstr(&code));
	}
	free(src);
	free(dst);
	free(uids);
	free(nu);
	return true;
}

bool imap_cmd_copy(struct imap_cmd *cmd)
{
	return do_copy(cmd, false);
}

bool imap_cmd_move(struct imap_cmd *cmd)
{
	return do_copy(cmd, true);
}
