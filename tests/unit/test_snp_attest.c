/*
 * The SEV-SNP guest attester over configfs-tsm without hardware: a fake configfs-tsm tree in a
 * temporary directory that behaves like the kernel's (Documentation/ABI/testing/configfs-tsm).
 * configfs populates a report entry's attributes inside mkdir(2), which a plain directory cannot
 * do, so this program defines mkdir (the attester's call resolves to it at link time) to create
 * them: provider, generation, privlevel_floor, [privlevel], auxblob, and inblob and outblob as
 * FIFOs served by a helper thread, so that reading outblob blocks until the "kernel" has read the
 * inblob and produced the report, as the kernel's read does. The report is a sim-snp report
 * binding the inblob; the auxblob is a GHCB certificate table carrying the sim's VCEK. The
 * evidence must be Trustee's `snp` JSON that the broker-side verifier accepts with the test roots;
 * malformed outblobs, auxblobs and generations give precise errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "tee/snp/attest.h"
#include "tee/snp/evidence.h"
#include "tee/snp/format.h"
#include "tee/snp/sim.h"
#include "tee/snp/snp.h"
#include "t.h"

#define AUX_MAX 65536

/* What the fake kernel does for the next report entry. */
struct scenario {
	const char *provider;  /* provider attribute; NULL: "sev_guest\n" */
	const char *floor;     /* privlevel_floor; NULL: "0\n" */
	const char *gen_after; /* generation after the inblob; NULL: the count of writes */
	bool serve;            /* start the helper (false when the attester stops earlier) */
	int outblob_delta;     /* bytes cut (< 0) from or added (> 0) to the report */
	bool other_data;       /* the report binds other data than the inblob */
	bool reserved;         /* a reserved byte of the report set */
	uint8_t aux[AUX_MAX];
	size_t aux_len; /* 0 with no_aux false: an empty auxblob */
	bool no_aux;    /* no auxblob attribute at all (an older kernel) */
};

static struct {
	char root[64];
	struct cs_snp_sim *sim;
	struct scenario sc;
	char entry[4096];
	pthread_t helper;
	bool helper_running;
	atomic_bool helper_done;
	unsigned entries; /* report entries made */
	uint32_t vmpl;    /* privlevel the attester wrote, or 0 */
	bool short_write;
} fake;

static void
put_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[4200], tmp[4300];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n || close(fd) != 0 || rename(tmp, path) != 0)
		abort();
}

static void
put_str(const char *dir, const char *name, const char *s)
{
	put_file(dir, name, s, strlen(s));
}

static size_t
read_fd_all(int fd, uint8_t *p, size_t cap)
{
	size_t n = 0;
	ssize_t got;

	while (n < cap && (got = read(fd, p + n, cap - n)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		n += (size_t)got;
	}
	return n;
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void *
done(void)
{
	atomic_store(&fake.helper_done, true);
	return NULL;
}

/* The "kernel": reads inblob, writes generation, serves outblob. */
static void *
helper(void *arg)
{
	char path[4200];
	uint8_t in[64] = {0}, rep[CS_SNP_REPORT_LEN + 8];
	struct cs_snp_report r;
	size_t n, writes = 1;
	char gen[32];
	int fd;

	(void)arg;
	snprintf(path, sizeof(path), "%s/inblob", fake.entry);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return done();
	read_fd_all(fd, in, sizeof(in));
	close(fd);
	/* privlevel, when the attester wrote one, is a plain file of the tree. */
	snprintf(path, sizeof(path), "%s/privlevel", fake.entry);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		char lvl[8] = {0};

		if (read(fd, lvl, sizeof(lvl) - 1) > 0 && lvl[0] >= '0' && lvl[0] <= '3') {
			fake.vmpl = (uint32_t)(lvl[0] - '0');
			writes++;
		}
		close(fd);
	}
	cs_snp_sim_template(fake.sim, 3, &r);
	memcpy(r.report_data, in, sizeof(in));
	if (fake.sc.other_data)
		r.report_data[7] ^= 1;
	r.vmpl = fake.vmpl;
	memset(rep, 0xEE, sizeof(rep));
	if (cs_snp_sim_sign(fake.sim, &r, rep) != CS_OK)
		abort();
	if (fake.sc.reserved)
		rep[0x4C] = 1; /* the reserved word after SIGNER_INFO */
	snprintf(gen, sizeof(gen), "%zu\n", writes);
	put_str(fake.entry, "generation", fake.sc.gen_after != NULL ? fake.sc.gen_after : gen);
	snprintf(path, sizeof(path), "%s/outblob", fake.entry);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return done();
	n = (size_t)((int)CS_SNP_REPORT_LEN + fake.sc.outblob_delta);
	if (write(fd, rep, n) != (ssize_t)n)
		fake.short_write = true; /* the attester went away (SIGPIPE ignored) */
	close(fd);
	return done();
}

/* Populates a new report entry as configfs does inside mkdir. */
static void
populate(const char *entry)
{
	char path[4200];

	fake.entries++;
	snprintf(fake.entry, sizeof(fake.entry), "%s", entry);
	fake.vmpl = 0;
	put_str(entry, "provider", fake.sc.provider != NULL ? fake.sc.provider : "sev_guest\n");
	put_str(entry, "generation", "0\n");
	put_str(entry, "privlevel_floor", fake.sc.floor != NULL ? fake.sc.floor : "0\n");
	put_str(entry, "privlevel", ""); /* write-only in the kernel */
	if (!fake.sc.no_aux)
		put_file(entry, "auxblob", fake.sc.aux, fake.sc.aux_len);
	snprintf(path, sizeof(path), "%s/inblob", entry);
	if (mkfifo(path, 0600) != 0)
		abort();
	snprintf(path, sizeof(path), "%s/outblob", entry);
	if (mkfifo(path, 0600) != 0)
		abort();
	if (fake.sc.serve) {
		atomic_store(&fake.helper_done, false);
		if (pthread_create(&fake.helper, NULL, helper, NULL) != 0)
			abort();
		fake.helper_running = true;
	}
}

int mkdir(const char *path, mode_t mode);

/* The interposed mkdir: the real one, then configfs's population under the fake root. */
int
mkdir(const char *path, mode_t mode)
{
	size_t n = strlen(fake.root);
	int rc = (int)syscall(SYS_mkdirat, AT_FDCWD, path, mode);

	if (rc == 0 && n > 0 && strncmp(path, fake.root, n) == 0 && path[n] == '/' &&
	    strchr(path + n + 1, '/') == NULL)
		populate(path);
	return rc;
}

static void
rm_entry(void)
{
	static const char *const names[] = {"provider",  "generation", "privlevel_floor",
	                                    "privlevel", "auxblob",    "inblob",
	                                    "outblob"};
	char path[4200];

	/* When the attester stopped before the "kernel" was done, unblock its FIFO opens. */
	while (fake.helper_running && !atomic_load(&fake.helper_done)) {
		int fd;

		snprintf(path, sizeof(path), "%s/inblob", fake.entry);
		if ((fd = open(path, O_WRONLY | O_NONBLOCK)) >= 0)
			close(fd);
		snprintf(path, sizeof(path), "%s/outblob", fake.entry);
		if ((fd = open(path, O_RDONLY | O_NONBLOCK)) >= 0)
			close(fd);
		usleep(1000);
	}
	if (fake.helper_running) {
		pthread_join(fake.helper, NULL);
		fake.helper_running = false;
	}
	if (fake.entry[0] == '\0')
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fake.entry, names[i]);
		unlink(path);
	}
	rmdir(fake.entry);
	fake.entry[0] = '\0';
}

/* A certificate table: entries (guid, cert) in order, the terminator, then the certs. */
static size_t
table(uint8_t *out, const uint8_t *const *guids, const struct cs_buf *const *certs, size_t k)
{
	size_t off = (k + 1) * 24;

	memset(out, 0, (k + 1) * 24);
	for (size_t i = 0; i < k; i++) {
		memcpy(out + 24 * i, guids[i], 16);
		put32(out + 24 * i + 16, (uint32_t)off);
		put32(out + 24 * i + 20, (uint32_t)certs[i]->len);
		memcpy(out + off, certs[i]->p, certs[i]->len);
		off += certs[i]->len;
	}
	return off;
}

static struct cs_buf vcek, ask_ark;

static void
sc_reset(void)
{
	const uint8_t *g[] = {cs_snp_guid_vcek, cs_snp_guid_ask, cs_snp_guid_ark};
	const struct cs_buf *c[] = {&vcek, &ask_ark, &ask_ark};

	memset(&fake.sc, 0, sizeof(fake.sc));
	fake.sc.serve = true;
	fake.sc.aux_len = table(fake.sc.aux, g, c, 3);
}

static enum cs_err
run(const uint8_t *rd, json_t **ev)
{
	enum cs_err err;

	*ev = NULL;
	err = cs_snp_attest_tsm(fake.root, rd, ev);
	rm_entry();
	return err;
}

/* The VEK bytes in the evidence's cert_chain, or NULL. */
static bool
ev_vek_is(const json_t *ev, const struct cs_buf *want, const char *type)
{
	uint8_t rep[CS_SNP_REPORT_LEN];
	struct cs_buf got;
	const json_t *e = json_array_get(json_object_get(ev, "cert_chain"), 0);
	bool ok;

	cs_buf_init(&got, 65536);
	ok = cs_snp_evidence_parse(ev, rep, &got) == CS_OK && got.len == want->len &&
	     memcmp(got.p, want->p, got.len) == 0 &&
	     strcmp(json_string_value(json_object_get(e, "cert_type")), type) == 0;
	cs_buf_fini(&got);
	return ok;
}

static char roots[] = "/tmp/custos-test-tsm-sim-XXXXXX";

static void
test_attest_and_verify(void)
{
	struct cs_verify_cfg cfg = {.roots_dir = roots, .offline = true};
	uint8_t rd[64], other[64];
	json_t *ev = NULL, *claims = NULL;
	void *st = NULL;
	struct cs_verify_in in = {.report_data = rd, .at = 0};
	unsigned entries = fake.entries;

	CHECK_OK(cs_time_parse_rfc3339("2026-11-30T00:00:00Z", 20, &in.at));
	for (size_t i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)(i * 7 + 1);
	sc_reset();
	CHECK_OK(run(rd, &ev));
	CHECK(fake.entries == entries + 1); /* one report entry per attestation */
	/* Trustee's snp evidence: the report as serde JSON, the VCEK from the auxblob. */
	CHECK(json_is_object(json_object_get(ev, "attestation_report")));
	CHECK(json_integer_value(
	              json_object_get(json_object_get(ev, "attestation_report"), "version")) == 3);
	CHECK(ev_vek_is(ev, &vcek, "VCEK"));
	/* The broker's verifier (the real `snp` type) accepts it with the test roots... */
	CHECK_OK(cs_tee_snp.verifier_new(&cfg, &st));
	in.evidence = ev;
	if (st != NULL) {
		CHECK_OK(cs_tee_snp.verify(st, &in, &claims));
		CHECK_STR(json_string_value(json_object_get(claims, "vmpl")), "0");
		json_decref(claims);
		claims = NULL;
		/* ...and not for another binding. */
		memcpy(other, rd, sizeof(other));
		other[63] ^= 0x80;
		in.report_data = other;
		CHECK_ERR(cs_tee_snp.verify(st, &in, &claims), CS_ERR_BINDING);
		in.report_data = rd;
	}
	json_decref(ev);
	ev = NULL;

	/* Under an SVSM (privlevel_floor 1) the attester asks for level 1: two writes. */
	sc_reset();
	fake.sc.floor = "1\n";
	CHECK_OK(run(rd, &ev));
	CHECK(fake.vmpl == 1);
	in.evidence = ev;
	if (st != NULL && ev != NULL) {
		CHECK_OK(cs_tee_snp.verify(st, &in, &claims));
		CHECK_STR(json_string_value(json_object_get(claims, "vmpl")), "1");
		json_decref(claims);
	}
	json_decref(ev);

	/* No auxblob attribute, or an empty one: evidence without certificates (cert_chain null),
	 * which an offline verifier without the VCEK cached refuses as missing collateral. */
	sc_reset();
	fake.sc.no_aux = true;
	CHECK_OK(run(rd, &ev));
	CHECK(json_is_null(json_object_get(ev, "cert_chain")));
	in.evidence = ev;
	if (st != NULL && ev != NULL)
		CHECK_ERR(cs_tee_snp.verify(st, &in, &claims), CS_ERR_COLLATERAL);
	json_decref(ev);
	sc_reset();
	fake.sc.aux_len = 0;
	CHECK_OK(run(rd, &ev));
	CHECK(json_is_null(json_object_get(ev, "cert_chain")));
	json_decref(ev);
	cs_tee_snp.verifier_free(st);

	/* Through the environment, as custos-agent runs it: cs_snp_attest with the fake root. */
	setenv(CS_SNP_TSM_ENV, fake.root, 1);
	CHECK(cs_snp_attest_available());
	CHECK_STR(cs_snp_tsm_root(), fake.root);
	sc_reset();
	ev = NULL;
	CHECK_OK(cs_tee_snp.attest(rd, &ev));
	rm_entry();
	CHECK(ev_vek_is(ev, &vcek, "VCEK"));
	json_decref(ev);
	unsetenv(CS_SNP_TSM_ENV);
	CHECK_STR(cs_snp_tsm_root(), "/sys/kernel/config/tsm/report");
}

static void
test_auxblob_tables(void)
{
	const uint8_t *g1[] = {cs_snp_guid_vcek};
	const uint8_t *gl[] = {cs_snp_guid_ask, cs_snp_guid_vlek};
	const uint8_t *g2[] = {cs_snp_guid_ask, cs_snp_guid_ark};
	const struct cs_buf *c1[] = {&vcek};
	const struct cs_buf *c2[] = {&ask_ark, &vcek};
	const struct cs_buf *c3[] = {&ask_ark, &ask_ark};
	uint8_t rd[64];
	json_t *ev = NULL;
	size_t n;

	memset(rd, 0x5A, sizeof(rd));
	/* A VLEK entry (behind another one) goes into the evidence; its cert_type follows the
	 * report's signing key (VCEK for this sim report: the verifier then refuses it). */
	sc_reset();
	fake.sc.aux_len = table(fake.sc.aux, gl, c2, 2);
	CHECK_OK(run(rd, &ev));
	CHECK(ev_vek_is(ev, &vcek, "VCEK"));
	json_decref(ev);
	/* ASK and ARK only: no VEK, evidence without certificates. */
	sc_reset();
	fake.sc.aux_len = table(fake.sc.aux, g2, c3, 2);
	CHECK_OK(run(rd, &ev));
	CHECK(json_is_null(json_object_get(ev, "cert_chain")));
	json_decref(ev);

	/* Truncated inside the first entry; inside the second (the first then points past the
	 * end of what is left). */
	sc_reset();
	fake.sc.aux_len = 20;
	CHECK_ERR(run(rd, &ev), CS_ERR_TRUNCATED);
	sc_reset();
	fake.sc.aux_len = 40;
	CHECK_ERR(run(rd, &ev), CS_ERR_LENGTH);
	CHECK(ev == NULL);
	/* The table without its terminator: one entry, then the certificate's bytes, read as an
	 * entry, point outside the blob. */
	sc_reset();
	n = table(fake.sc.aux, g1, c1, 1);
	memmove(fake.sc.aux + 24, fake.sc.aux + 48, n - 48);
	put32(fake.sc.aux + 16, 24);
	fake.sc.aux_len = n - 24;
	CHECK_ERR(run(rd, &ev), CS_ERR_LENGTH);
	/* ...and cut right after the one entry. */
	sc_reset();
	fake.sc.aux_len = 24;
	put32(fake.sc.aux + 16, 0);
	put32(fake.sc.aux + 20, 24);
	CHECK_ERR(run(rd, &ev), CS_ERR_TRUNCATED);
	/* A terminator with a length. */
	sc_reset();
	n = table(fake.sc.aux, g1, c1, 1);
	fake.sc.aux_len = n;
	put32(fake.sc.aux + 24 + 20, 1);
	CHECK_ERR(run(rd, &ev), CS_ERR_RESERVED);
	/* Offsets out of range: past the end, length past the end, into the table, empty. */
	sc_reset();
	put32(fake.sc.aux + 16, (uint32_t)fake.sc.aux_len);
	CHECK_ERR(run(rd, &ev), CS_ERR_LENGTH);
	sc_reset();
	put32(fake.sc.aux + 20, (uint32_t)fake.sc.aux_len);
	CHECK_ERR(run(rd, &ev), CS_ERR_LENGTH);
	sc_reset();
	put32(fake.sc.aux + 16, 0);
	CHECK_ERR(run(rd, &ev), CS_ERR_LENGTH);
	sc_reset();
	put32(fake.sc.aux + 24 + 20, 0); /* the ASK entry, not the one asked for */
	CHECK_ERR(run(rd, &ev), CS_ERR_LENGTH);
	CHECK(ev == NULL);
}

static void
test_outblob_and_generation(void)
{
	uint8_t rd[64];
	json_t *ev = NULL;
	char dir[] = "/tmp/custos-test-tsm-none-XXXXXX";

	memset(rd, 0x33, sizeof(rd));
	sc_reset();
	fake.sc.outblob_delta = -1;
	CHECK_ERR(run(rd, &ev), CS_ERR_TRUNCATED);
	sc_reset();
	fake.sc.outblob_delta = -(int)CS_SNP_REPORT_LEN;
	CHECK_ERR(run(rd, &ev), CS_ERR_TRUNCATED);
	sc_reset();
	fake.sc.outblob_delta = 1;
	CHECK_ERR(run(rd, &ev), CS_ERR_TOO_LARGE);
	sc_reset();
	fake.sc.other_data = true;
	CHECK_ERR(run(rd, &ev), CS_ERR_BINDING);
	sc_reset();
	fake.sc.reserved = true;
	CHECK_ERR(run(rd, &ev), CS_ERR_RESERVED);
	/* Another writer between our inblob and the outblob read: generation 2 after one write. */
	sc_reset();
	fake.sc.gen_after = "2\n";
	CHECK_ERR(run(rd, &ev), CS_ERR_STATE);
	/* ...or one write short under an SVSM. */
	sc_reset();
	fake.sc.floor = "2\n";
	fake.sc.gen_after = "1\n";
	CHECK_ERR(run(rd, &ev), CS_ERR_STATE);
	sc_reset();
	fake.sc.gen_after = "one\n";
	CHECK_ERR(run(rd, &ev), CS_ERR_PROTOCOL);
	sc_reset();
	fake.sc.gen_after = "1\n\n";
	CHECK_ERR(run(rd, &ev), CS_ERR_PROTOCOL);
	/* Another TEE's configfs-tsm (TDX): not SNP, before anything is written. */
	sc_reset();
	fake.sc.provider = "tdx_guest\n";
	fake.sc.serve = false;
	CHECK_ERR(run(rd, &ev), CS_ERR_NO_TEE);
	sc_reset();
	fake.sc.provider = "sev_guestX\n";
	fake.sc.serve = false;
	CHECK_ERR(run(rd, &ev), CS_ERR_NO_TEE);
	/* No configfs-tsm at all. */
	CHECK(mkdtemp(dir) != NULL);
	rmdir(dir);
	CHECK_ERR(cs_snp_attest_tsm(dir, rd, &ev), CS_ERR_NO_TEE);
	CHECK(ev == NULL);
}

int
main(void)
{
	struct cs_snp_sim_params sp = {
	        .product = CS_SNP_GENOA,
	        .tcb = {.bootloader = 9, .tee = 0, .snp = 23, .microcode = 0xD9},
	};

	signal(SIGPIPE, SIG_IGN);
	CHECK_OK(cs_time_parse_rfc3339("2025-01-01T00:00:00Z", 20, &sp.not_before));
	CHECK_OK(cs_time_parse_rfc3339("2032-01-01T00:00:00Z", 20, &sp.not_after));
	for (size_t i = 0; i < 64; i++)
		sp.chip_id[i] = (uint8_t)(0x10 + i);
	snprintf(fake.root, sizeof(fake.root), "/tmp/custos-test-tsm-XXXXXX");
	CHECK(mkdtemp(fake.root) != NULL);
	CHECK(mkdtemp(roots) != NULL);
	CHECK_OK(cs_snp_sim_new(&sp, &fake.sim));
	cs_buf_init(&vcek, 65536);
	cs_buf_init(&ask_ark, 65536);
	if (fake.sim == NULL)
		return t_done();
	CHECK_OK(cs_snp_sim_vcek_der(fake.sim, &vcek));
	CHECK_OK(cs_snp_sim_roots_pem(fake.sim, &ask_ark));
	CHECK_OK(cs_snp_sim_save(fake.sim, roots));
	T_RUN(test_outblob_and_generation);
	T_RUN(test_auxblob_tables);
	T_RUN(test_attest_and_verify);
	rmdir(fake.root);
	{
		static const char *const files[] = {"chip.json", "genoa.pem", "vcek.der",
		                                    "vcek.key"};
		char path[128];

		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", roots, files[i]);
			unlink(path);
		}
		rmdir(roots);
	}
	cs_buf_fini(&vcek);
	cs_buf_fini(&ask_ark);
	cs_snp_sim_free(fake.sim);
	return t_done();
}
