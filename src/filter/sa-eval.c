/*
 * The eval: registry.  sa_evals[] names every eval function ombu knows:
 * the implemented ones (sa-eval-head.c, sa-eval-body.c, sa-eval-misc.c)
 * and, for the others the Debian rule set calls, why there is none: a
 * network test (DNS lists, SPF, DKIM, DMARC, Razor, Pyzor, DCC), Bayes,
 * or a test not carried over.  docs/filter-rules.md lists them with the
 * rules that need them.
 */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "filter/sa-private.h"
#include "lib/pool.h"
#include "lib/util.h"

extern const struct sa_eval_def sa_evals_head[];
extern const struct sa_eval_def sa_evals_body[];
extern const struct sa_eval_def sa_evals_misc[];

const char *sa_arg(const struct sa_eval_call *c, unsigned i)
{
	return i < c->n_args ? c->args[i] : NULL;
}

double sa_arg_num(const struct sa_eval_call *c, unsigned i, double def)
{
	const char *a = sa_arg(c, i);
	return a != NULL && a[0] != '\0' ? strtod(a, NULL) : def;
}

#define NET(n) { n, NULL, NULL, "network" }
#define NOIMPL(n, why) { n, NULL, NULL, why }

static const struct sa_eval_def without[] = {
	NET("check_rbl"), NET("check_rbl_sub"), NET("check_rbl_txt"), NET("check_rbl_from_host"),
	NET("check_rbl_envfrom"), NET("check_rbl_headers"), NET("check_rbl_from_domain"),
	NET("check_rbl_ns_from"), NET("check_rbl_rcvd"), NET("check_rbl_accreditor"),
	NET("check_uridnsbl"), NET("check_dns_sender"), NET("check_razor2"),
	NET("check_razor2_range"), NET("check_pyzor"), NET("check_dcc"),
	NET("check_dcc_reputation_range"), NET("check_hashbl_bodyre"), NET("check_hashbl_emails"),
	NET("check_hashbl_uris"), NET("check_hashbl_attachments"),
	NET("check_for_spf_pass"), NET("check_for_spf_neutral"), NET("check_for_spf_none"),
	NET("check_for_spf_fail"), NET("check_for_spf_softfail"), NET("check_for_spf_permerror"),
	NET("check_for_spf_temperror"), NET("check_for_spf_helo_pass"),
	NET("check_for_spf_helo_neutral"), NET("check_for_spf_helo_none"),
	NET("check_for_spf_helo_fail"), NET("check_for_spf_helo_softfail"),
	NET("check_for_spf_helo_permerror"), NET("check_for_spf_helo_temperror"),
	NET("check_for_spf_welcomelist_from"), NET("check_for_spf_whitelist_from"),
	NET("check_for_def_spf_welcomelist_from"), NET("check_for_def_spf_whitelist_from"),
	NET("check_dkim_signed"), NET("check_dkim_valid"), NET("check_dkim_valid_author_sig"),
	NET("check_dkim_valid_envelopefrom"), NET("check_dkim_testing"), NET("check_dkim_signsome"),
	NET("check_dkim_signall"), NET("check_dkim_adsp"), NET("check_dkim_dependable"),
	NET("check_for_dkim_welcomelist_from"), NET("check_for_dkim_whitelist_from"),
	NET("check_for_def_dkim_welcomelist_from"), NET("check_for_def_dkim_whitelist_from"),
	NET("check_arc_signed"), NET("check_arc_valid"), NET("check_dmarc_pass"),
	NET("check_dmarc_reject"), NET("check_dmarc_quarantine"), NET("check_dmarc_none"),
	NET("check_dmarc_missing"),
	NOIMPL("check_bayes", "Bayes"),
	NOIMPL("check_from_in_auto_welcomelist", "AWL database"),
	NOIMPL("check_from_in_auto_whitelist", "AWL database"),
	NOIMPL("check_senders_reputation", "TxRep database"),
	NOIMPL("check_access_database", "AccessDB database"),
	NOIMPL("check_language", "TextCat plugin"),
	NOIMPL("short_url", "DecodeShortURLs (network)"),
	NOIMPL("short_url_chained", "DecodeShortURLs (network)"),
	NOIMPL("check_fromname_spoof", "FromNameSpoof plugin"),
	NOIMPL("check_fromname_equals_to", "FromNameSpoof plugin"),
	NOIMPL("check_fromname_equals_replyto", "FromNameSpoof plugin"),
	NOIMPL("check_microsoft_executable", "AntiVirus plugin"),
	NOIMPL("check_suspect_name", "AntiVirus plugin"),
	NOIMPL("check_shortcircuit", "Shortcircuit plugin"),
	NOIMPL("check_stock_info", "not implemented"),
	NOIMPL("pdf_count", "PDFInfo plugin"), NOIMPL("pdf_image_count", "PDFInfo plugin"),
	NOIMPL("pdf_pixel_coverage", "PDFInfo plugin"), NOIMPL("pdf_named", "PDFInfo plugin"),
	NOIMPL("pdf_name_regex", "PDFInfo plugin"), NOIMPL("pdf_image_to_text_ratio", "PDFInfo plugin"),
	NOIMPL("pdf_match_md5", "PDFInfo plugin"), NOIMPL("pdf_match_fuzzy_md5", "PDFInfo plugin"),
	NOIMPL("pdf_match_details", "PDFInfo plugin"), NOIMPL("pdf_is_encrypted", "PDFInfo plugin"),
	NOIMPL("pdf_is_empty_body", "PDFInfo plugin"), NOIMPL("pdf_image_size_exact", "PDFInfo plugin"),
	NOIMPL("pdf_image_size_range", "PDFInfo plugin"),
	{ NULL, NULL, NULL, NULL },
};

const struct sa_eval_def *sa_evals;
size_t sa_n_evals;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build(void)
{
	const struct sa_eval_def *tabs[] = { sa_evals_head, sa_evals_body, sa_evals_misc, without };
	size_t n = 0;
	for (size_t t = 0; t < N_ELEMENTS(tabs); t++)
		for (size_t i = 0; tabs[t][i].name != NULL; i++)
			n++;
	struct sa_eval_def *all = xcalloc(n + 1, sizeof(*all));
	size_t k = 0;
	for (size_t t = 0; t < N_ELEMENTS(tabs); t++)
		for (size_t i = 0; tabs[t][i].name != NULL; i++)
			all[k++] = tabs[t][i];
	sa_evals = all;
	sa_n_evals = k;
}

int sa_eval_lookup(const char *name)
{
	pthread_once(&once, build);
	for (size_t i = 0; i < sa_n_evals; i++)
		if (strcmp(sa_evals[i].name, name) == 0)
			return (int)i;
	return -1;
}

static const char **sup_names;
static size_t sup_n;
static pthread_once_t sup_once = PTHREAD_ONCE_INIT;

static void build_supported(void)
{
	pthread_once(&once, build);
	sup_names = xcalloc(sa_n_evals + 1, sizeof(char *));
	for (size_t i = 0; i < sa_n_evals; i++)
		if (sa_evals[i].fn != NULL)
			sup_names[sup_n++] = sa_evals[i].name;
}

size_t sa_eval_supported(const char *const **names_r)
{
	pthread_once(&sup_once, build_supported);
	*names_r = sup_names;
	return sup_n;
}
