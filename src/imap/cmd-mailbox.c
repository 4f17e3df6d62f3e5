/* Mailbox management: CREATE (with CREATE-SPECIAL-USE), DELETE, RENAME,
 * SUBSCRIBE, UNSUBSCRIBE, STATUS (with STATUS=SIZE, CONDSTORE,
 * APPENDLIMIT), and QUOTA (RFC 9208) over the store's quota. */

#include "imap-private.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "store/store.h"

#include <string.h>

/* The name of a CREATE/RENAME target: a trailing separator only says
 * that names will be created below (RFC 3501 6.3.3). */
static const char *target_name(struct imap_cmd *cmd, const char *wire)
{
	size_t len = strlen(wire);
	if (len > 1 && wire[len - 1] == '/')
		wire = pool_strndup(cmd->pool, wire, len - 1);
	const char *name = imap_name_in(cmd, wire);
	if (name == NULL)
		return NULL;
	if (!store_folder_name_valid(name)) {
		imap_cmd_no(cmd, "[CANNOT] Invalid mailbox name.");
		return NULL;
	}
	return name;
}

static const char *const special_uses[] = {
	"\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash", NULL
};

bool imap_cmd_create(struct imap_cmd *cmd)
{
	const char *wire;
	if (cmd->count < 1 || cmd->count > 2 || !imap_arg_astring(&cmd->args[0], &wire)) {
		imap_cmd_bad(cmd, "Usage: CREATE mailbox [(USE (attributes))]");
		return true;
	}
	const char *special = NULL;
	if (cmd->count == 2) {
		const struct imap_arg *p = &cmd->args[1];
		if (p->type != IMAP_ARG_LIST || p->count != 2 || !imap_arg_atom_is(&p->list[0], "USE") ||
		    p->list[1].type != IMAP_ARG_LIST) {
			imap_cmd_bad(cmd, "Usage: CREATE mailbox [(USE (attributes))]");
			return true;
		}
		const struct imap_arg *uses = &p->list[1];
		for (unsigned int i = 0; i < uses->count; i++) {
			const char *u = uses->list[i].type == IMAP_ARG_ATOM ? uses->list[i].str : "";
			const char *known = NULL;
			for (const char *const *k = special_uses; *k != NULL; k++) {
				if (str_eq_icase(u, *k))
					known = *k;
			}
			if (known == NULL || (special != NULL && strcmp(special, known) != 0)) {
				imap_cmd_no(cmd, "[USEATTR] Unsupported special-use attribute.");
				return true;
			}
			special = known;
		}
	}
	const char *name = target_name(cmd, wire);
	if (name == NULL)
		return true;
	struct mailbox *mb = imap_client_mailbox(cmd);
	if (mb == NULL)
		return true;
	const char *err = NULL;
	int r = mailbox_folder_create(mb, name, special, &err);
	if (r != STORE_OK) {
		imap_cmd_store_error(cmd, r, err);
		return true;
	}
	imap_cmd_ok(cmd, "Create completed.");
	return true;
}

bool imap_cmd_delete(struct imap_cmd *cmd)
{
	const char *wire;
	if (cmd->count != 1 || !imap_arg_astring(&cmd->args[0], &wire)) {
		imap_cmd_bad(cmd, "Usage: DELETE mailbox");
		return true;
	}
	const char *name = imap_name_in(cmd, wire);
	if (name == NULL)
		return true;
	if (strcmp(name, "INBOX") == 0) {
		imap_cmd_no(cmd, "[CANNOT] INBOX can't be deleted.");
		return true;
	}
	struct mailbox *mb = imap_client_mailbox(cmd);
	if (mb == NULL)
		return true;
	const char *err = NULL;
	int r = mailbox_folder_delete(mb, name, &err);
	if (r != STORE_OK) {
		imap_cmd_store_error(cmd, r, err);
		return true;
	}
	imap_cmd_ok(cmd, "Delete completed.");
	return true;
}

bool imap_cmd_rename(struct imap_cmd *cmd)
{
	const char *w1, *w2;
	if (cmd->count != 2 || !imap_arg_astring(&cmd->args[0], &w1) ||
	    !imap_arg_astring(&cmd->args[1], &w2)) {
		imap_cmd_bad(cmd, "Usage: RENAME from to");
		return true;
	}
	const char *from = imap_name_in(cmd, w1);
	const char *to = from != NULL ? target_name(cmd, w2) : NULL;
	if (to == NULL)
		return true;
	if (strcmp(to, "INBOX") == 0) {
		imap_cmd_no(cmd, "[ALREADYEXISTS] INBOX exists already.");
		return true;
	}
	struct mailbox *mb = imap_client_mailbox(cmd);
	if (mb == NULL)
		return true;
	const char *err = NULL;
	int r = mailbox_folder_rename(mb, from, to, &err);
	if (r != STORE_OK) {
		imap_cmd_store_error(cmd, r, err);
		return true;
	}
	imap_cmd_ok(cmd, "Rename completed.");
	return true;
}

static bool do_subscribe(struct imap_cmd *cmd, bool on)
{
	const char *wire;
	if (cmd->count != 1 || !imap_arg_astring(&cmd->args[0], &wire)) {
		imap_cmd_bad(cmd, "Usage: %s mailbox", cmd->name);
		return true;
	}
	const char *name = imap_name_in(cmd, wire);
	if (name == NULL)
		return true;
	struct mailbox *mb = imap_client_mailbox(cmd);
	if (mb == NULL)
		return true;
	const char *err = NULL;
	int r = mailbox_folder_subscribe(mb, name, on, &err);
	if (r != STORE_OK) {
		imap_cmd_store_error(cmd, r, err);
		return true;
	}
	imap_cmd_ok(cmd, "%s completed.", on ? "Subscribe" : "Unsubscribe");
	return true;
}

bool imap_cmd_subscribe(struct imap_cmd *cmd)
{
	return do_subscribe(cmd, true);
}

bool imap_cmd_unsubscribe(struct imap_cmd *cmd)
{
	return do_subscribe(cmd, false);
}

/* ------------------------------------------------------------------ */
/* STATUS                                                              */

enum {
	ST_MESSAGES = 1 << 0,
	ST_RECENT = 1 << 1,
	ST_UIDNEXT = 1 << 2,
	ST_UIDVALIDITY = 1 << 3,
	ST_UNSEEN = 1 << 4,
	ST_DELETED = 1 << 5,
	ST_SIZE = 1 << 6,
	ST_HIGHESTMODSEQ = 1 << 7,
	ST_APPENDLIMIT = 1 << 8,
};

static const struct {
	const char *name;
	unsigned int bit;
} status_names[] = {
	{ "MESSAGES", ST_MESSAGES }, { "RECENT", ST_RECENT }, { "UIDNEXT", ST_UIDNEXT },
	{ "UIDVALIDITY", ST_UIDVALIDITY }, { "UNSEEN", ST_UNSEEN }, { "DELETED", ST_DELETED },
	{ "SIZE", ST_SIZE }, { "HIGHESTMODSEQ", ST_HIGHESTMODSEQ }, { "APPENDLIMIT", ST_APPENDLIMIT },
};

int imap_status_items(struct imap_cmd *cmd, const struct imap_arg *items, unsigned int count,
		      unsigned int *mask_r)
{
	unsigned int mask = 0;
	for (unsigned int i = 0; i < count; i++) {
		unsigned int bit = 0;
		for (size_t k = 0; k < N_ELEMENTS(status_names); k++) {
			if (imap_arg_atom_is(&items[i], status_names[k].name))
				bit = status_names[k].bit;
		}
		if (bit == 0) {
			imap_cmd_bad(cmd, "Unknown STATUS item.");
			return -1;
		}
		mask |= bit;
	}
	*mask_r = mask;
	return 0;
}

void imap_status_write(struct imap_cmd *cmd, const struct store_folder *f, unsigned int mask)
{
	struct imap_client *c = cmd->client;
	struct buf *out = &cmd->out;
	buf_append_str(out, "* STATUS ");
	imap_name_out(c, out, f->name);
	buf_append_str(out, " (");
	const char *sp = "";
	if (mask & ST_MESSAGES) {
		buf_printf(out, "%sMESSAGES %u", sp, f->messages);
		sp = " ";
	}
	if (mask & ST_RECENT) {
		buf_printf(out, "%sRECENT %u", sp, f->recent);
		sp = " ";
	}
	if (mask & ST_UIDNEXT) {
		buf_printf(out, "%sUIDNEXT %u", sp, f->uidnext);
		sp = " ";
	}
	if (mask & ST_UIDVALIDITY) {
		buf_printf(out, "%sUIDVALIDITY %u", sp, f->uidvalidity);
		sp = " ";
	}
	if (mask & ST_UNSEEN) {
		buf_printf(out, "%sUNSEEN %u", sp, f->unseen);
		sp = " ";
	}
	if (mask & ST_DELETED) {
		buf_printf(out, "%sDELETED %u", sp, f->deleted);
		sp = " ";
	}
	if (mask & ST_SIZE) {
		buf_printf(out, "%sSIZE %llu", sp, (unsigned long long)f->bytes);
		sp = " ";
	}
	if (mask & ST_HIGHESTMODSEQ) {
		buf_printf(out, "%sHIGHESTMODSEQ %llu", sp, (unsigned long long)f->highestmodseq);
		sp = " ";
	}
	if (mask & ST_APPENDLIMIT)
		buf_printf(out, "%sAPPENDLIMIT %llu", sp, (unsigned long long)c->srv->set.append_limit);
	buf_append_str(out, ")\r\n");
}

bool imap_cmd_status(struct imap_cmd *cmd)
{
	const char *wire;
	if (cmd->count != 2 || !imap_arg_astring(&cmd->args[0], &wire) ||
	    cmd->args[1].type != IMAP_ARG_LIST || cmd->args[1].count == 0) {
		imap_cmd_bad(cmd, "Usage: STATUS mailbox (items)");
		return true;
	}
	unsigned int mask;
	if (imap_status_items(cmd, cmd->args[1].list, cmd->args[1].count, &mask) < 0)
		return true;
	const char *name = imap_name_in(cmd, wire);
	if (name == NULL)
		return true;
	struct mailbox *mb = imap_client_mailbox(cmd);
	if (mb == NULL)
		return true;
	struct store_folder f;
	const char *err = NULL;
	int r = mailbox_folder_get(mb, cmd->pool, name, &f, &err);
	if (r != STORE_OK) {
		imap_cmd_store_error(cmd, r, err);
		return true;
	}
	imap_status_write(cmd, &f, mask);
	imap_cmd_ok(cmd, "Status completed.");
	return true;
}

/* ------------------------------------------------------------------ */
/* QUOTA (RFC 9208): one root "" holding the user's storage            */

static bool write_quota(struct imap_cmd *cmd, struct mailbox *mb)
{
	struct imap_client *c = cmd->client;
	uint64_t used, msgs;
	const char *err = NULL;
	int r = mailbox_quota(mb, &used, &msgs, &err);
	if (r != STORE_OK) {
		imap_cmd_store_error(cmd, r, err);
		return false;
	}
	imap_cmd_untagged(cmd, "QUOTA \"\" (STORAGE %llu %llu)", (unsigned long long)((used + 1023) / 1024),
			  (unsigned long long)(c->quota / 1024));
	return true;
}

bool imap_cmd_getquotaroot(struct imap_cmd *cmd)
{
	const char *wire;
	if (cmd->count != 1 || !imap_arg_astring(&cmd->args[0], &wire)) {
		imap_cmd_bad(cmd, "Usage: GETQUOTAROOT mailbox");
		return true;
	}
	const char *name = imap_name_in(cmd, wire);
	if (name == NULL)
		return true;
	struct mailbox *mb = imap_client_mailbox(cmd);
	if (mb == NULL)
		return true;
	struct store_folder f;
	const char *err = NULL;
	int r = mailbox_folder_get(mb, cmd->pool, name, &f, &err);
	if (r != STORE_OK) {
		imap_cmd_store_error(cmd, r, err);
		return true;
	}
	buf_append_str(&cmd->out, "* QUOTAROOT ");
	imap_name_out(cmd->client, &cmd->out, f.name);
	if (cmd->client->quota > 0)
		buf_append_str(&cmd->out, " \"\"");
	buf_append_str(&cmd->out, "\r\n");
	if (cmd->client->quota > 0 && !write_quota(cmd, mb))
		return true;
	imap_cmd_ok(cmd, "Getquotaroot completed.");
	return true;
}

bool imap_cmd_getquota(struct imap_cmd *cmd)
{
	const char *root;
	if (cmd->count != 1 || !imap_arg_astring(&cmd->args[0], &root)) {
		imap_cmd_bad(cmd, "Usage: GETQUOTA root");
		return true;
	}
	if (root[0] != '\0' || cmd->client->quota == 0) {
		imap_cmd_no(cmd, "[NONEXISTENT] No such quota root.");
		return true;
	}
	struct mailbox *mb = imap_client_mailbox(cmd);
	if (mb == NULL || !write_quota(cmd, mb))
		return true;
	imap_cmd_ok(cmd, "Getquota completed.");
	return true;
}

bool imap_cmd_setquota(struct imap_cmd *cmd)
{
	if (cmd->count != 2 || cmd->args[1].type != IMAP_ARG_LIST) {
		imap_cmd_bad(cmd, "Usage: SETQUOTA root (resource limit ...)");
		return true;
	}
	imap_cmd_no(cmd, "[NOPERM] Quotas are set by the administrator.");
	return true;
}
