/*
 * SEV-SNP collateral from KDS against a local HTTP server (a /usr/bin/python3 http.server
 * subclass started by this program): the exact VCEK URLs AMD's KDS serves (Milan/Genoa 64-byte
 * hwID, Turin 8-byte hwID with fmcSPL), cert_chain and crl into the on-disk cache, a 429 with
 * Retry-After then success, a 429 that never ends (bounded waits, CS_ERR_RATE_LIMIT), 503 with
 * the default backoff, a timeout, a 404, a 500, a garbage body, an oversized body, a refused
 * connection, a base URL that is not allowed; the broker's verifier fetches a missing VCEK once
 * when online, caches it, and never touches the network when offline. Never the real network.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "base/b64.h"
#include "base/buf.h"
#include "base/clock.h"
#include "tee/snp/collateral.h"
#include "tee/snp/evidence.h"
#include "tee/snp/sim.h"
#include "tee/snp/snp.h"
#include "t.h"

#define PY "/usr/bin/python3"

/* Serves routes.json: {"<path?query>": [response, ...]}; each request takes the next response
 * of its path (the last one repeats); unknown paths are 404. Every request path is logged. */
static const char server_py[] =
        "import http.server, json, os, sys, threading, time\n"
        "routes = json.load(open(sys.argv[2]))\n"
        "log = open(sys.argv[3], 'a', buffering=1)\n"
        "lock = threading.Lock()\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    protocol_version = 'HTTP/1.1'\n"
        "    def do_GET(self):\n"
        "        with lock:\n"
        "            log.write(self.path + '\\n')\n"
        "            seq = routes.get(self.path)\n"
        "            r = (seq.pop(0) if len(seq) > 1 else seq[0]) if seq else {'status': 404}\n"
        "        time.sleep(r.get('sleep', 0))\n"
        "        body = open(r['body'], 'rb').read() if 'body' in r else b''\n"
        "        try:\n"
        "            self.send_response(r['status'])\n"
        "            for k, v in r.get('headers', {}).items():\n"
        "                self.send_header(k, v)\n"
        "            self.send_header('Content-Length', str(len(body)))\n"
        "            self.end_headers()\n"
        "            self.wfile.write(body)\n"
        "        except (BrokenPipeError, ConnectionResetError):\n"
        "            pass\n"
        "    def log_message(self, *a):\n"
        "        pass\n"
        "class S(http.server.ThreadingHTTPServer):\n"
        "    daemon_threads = True\n"
        "    def handle_error(self, request, client_address):\n"
        "        pass  # clients that hang up early (oversized body, timeout) are expected\n"
        "s = S(('127.0.0.1', 0), H)\n"
        "open(sys.argv[1] + '.tmp', 'w').write(str(s.server_address[1]))\n"
        "os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
        "s.serve_forever()\n";

static char dir[] = "/tmp/custos-test-kds-XXXXXX";
static char base[64];
static pid_t server = -1;
static struct cs_snp_sim *sim;
static struct cs_buf vcek;
static json_t *routes;

static void
path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static void
put_file(const char *name, const void *p, size_t n)
{
	char path[256];
	FILE *f;

	path_of(path, sizeof(path), name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		abort();
}

static void
hexs(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* Adds one response to path's sequence. */
static void
route(const char *path, int status, const char *body, const char *hdr, const char *val,
      double sleep_s)
{
	json_t *seq = json_object_get(routes, path), *r = json_pack("{s:i}", "status", status);
	char file[256];

	if (seq == NULL) {
		seq = json_array();
		json_object_set_new(routes, path, seq);
	}
	if (body != NULL) {
		path_of(file, sizeof(file), body);
		json_object_set_new(r, "body", json_string(file));
	}
	if (hdr != NULL)
		json_object_set_new(r, "headers", json_pack("{s:s}", hdr, val));
	if (sleep_s > 0)
		json_object_set_new(r, "sleep", json_real(sleep_s));
	json_array_append_new(seq, r);
}

/* The request paths logged so far, one per line. */
static size_t
log_lines(char *last, size_t cap)
{
	char path[256], line[1024];
	FILE *f;
	size_t n = 0;

	path_of(path, sizeof(path), "requests.log");
	if (last != NULL)
		last[0] = '\0';
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		n++;
		line[strcspn(line, "\n")] = '\0';
		if (last != NULL)
			snprintf(last, cap, "%.500s", line);
	}
	fclose(f);
	return n;
}

static bool
server_start(void)
{
	char script[256], rfile[256], port_file[256], log[256], port[16] = {0};
	FILE *f;

	path_of(script, sizeof(script), "server.py");
	path_of(rfile, sizeof(rfile), "routes.json");
	path_of(port_file, sizeof(port_file), "port");
	path_of(log, sizeof(log), "requests.log");
	put_file("server.py", server_py, strlen(server_py));
	if (json_dump_file(routes, rfile, 0) != 0)
		return false;
	server = fork();
	if (server == 0) {
		execl(PY, PY, script, port_file, rfile, log, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 1000 && server > 0; i++) {
		f = fopen(port_file, "r");
		if (f != NULL) {
			bool ok = fgets(port, sizeof(port), f) != NULL;

			fclose(f);
			if (ok) {
				snprintf(base, sizeof(base), "http://127.0.0.1:%s", port);
				return true;
			}
		}
		usleep(10000);
	}
	return false;
}

static void
server_stop(void)
{
	if (server > 0) {
		kill(server, SIGTERM);
		waitpid(server, NULL, 0);
		server = -1;
	}
}

static const struct cs_snp_tcb tcb = {.bootloader = 9, .tee = 0, .snp = 23, .microcode = 0xD9};
static uint8_t chip[64];

/* chip with its first byte replaced: one path per scenario. */
static void
chip_k(uint8_t out[64], uint8_t k)
{
	memcpy(out, chip, 64);
	out[0] = k;
}

static void
vcek_path(char *out, size_t cap, const char *prod, const uint8_t *c, size_t n)
{
	char hex[129];

	hexs(hex, c, n);
	snprintf(out, cap, "/vcek/v1/%s/%s?blSPL=09&teeSPL=00&snpSPL=23&ucodeSPL=217", prod, hex);
}

static void
setup_routes(void)
{
	uint8_t c[64];
	char p[512];
	struct cs_buf crl, roots;
	uint8_t big[300 * 1024];
	int64_t now = 0, later = 0;

	routes = json_object();
	cs_buf_init(&crl, 65536);
	cs_buf_init(&roots, 65536);
	CHECK_OK(cs_time_parse_rfc3339("2026-11-01T00:00:00Z", 20, &now));
	CHECK_OK(cs_time_parse_rfc3339("2027-11-01T00:00:00Z", 20, &later));
	CHECK_OK(cs_snp_sim_crl(sim, false, now, later, &crl));
	CHECK_OK(cs_snp_sim_roots_pem(sim, &roots));
	put_file("vcek.der", vcek.p, vcek.len);
	put_file("crl.der", crl.p, crl.len);
	put_file("chain.pem", roots.p, roots.len);
	put_file("garbage", "<html>busy</html>", 17);
	memset(big, 0x30, sizeof(big));
	put_file("big", big, sizeof(big));
	cs_buf_fini(&crl);
	cs_buf_fini(&roots);

	vcek_path(p, sizeof(p), "Genoa", chip, 64); /* the sim's own chip: found */
	route(p, 200, "vcek.der", NULL, NULL, 0);
	chip_k(c, 0x01); /* 429 with Retry-After, then the certificate */
	vcek_path(p, sizeof(p), "Genoa", c, 64);
	route(p, 429, NULL, "Retry-After", "1", 0);
	route(p, 200, "vcek.der", NULL, NULL, 0);
	chip_k(c, 0x02); /* rate limited for an hour, every time */
	vcek_path(p, sizeof(p), "Genoa", c, 64);
	route(p, 429, NULL, "Retry-After", "3600", 0);
	chip_k(c, 0x03); /* 503 without Retry-After, then the certificate */
	vcek_path(p, sizeof(p), "Genoa", c, 64);
	route(p, 503, NULL, NULL, NULL, 0);
	route(p, 200, "vcek.der", NULL, NULL, 0);
	chip_k(c, 0x04); /* too slow */
	vcek_path(p, sizeof(p), "Genoa", c, 64);
	route(p, 200, "vcek.der", NULL, NULL, 3.0);
	chip_k(c, 0x05); /* not a certificate */
	vcek_path(p, sizeof(p), "Genoa", c, 64);
	route(p, 200, "garbage", NULL, NULL, 0);
	chip_k(c, 0x06); /* server error */
	vcek_path(p, sizeof(p), "Genoa", c, 64);
	route(p, 500, "garbage", NULL, NULL, 0);
	chip_k(c, 0x07); /* far more than a certificate */
	vcek_path(p, sizeof(p), "Genoa", c, 64);
	route(p, 200, "big", NULL, NULL, 0);
	chip_k(c,
	       0x08); /* Retry-After as an HTTP-date: the default backoff, then the certificate */
	vcek_path(p, sizeof(p), "Genoa", c, 64);
	route(p, 429, NULL, "Retry-After", "Wed, 21 Oct 2026 07:28:00 GMT", 0);
	route(p, 200, "vcek.der", NULL, NULL, 0);
	route("/vcek/v1/Genoa/cert_chain", 200, "chain.pem", NULL, NULL, 0);
	route("/vcek/v1/Genoa/crl", 200, "crl.der", NULL, NULL, 0);
	route("/vcek/v1/Milan/cert_chain", 429, NULL, "Retry-After", "1", 0);
	route("/vcek/v1/Milan/cert_chain", 200, "chain.pem", NULL, NULL, 0);
	/* Milan's crl: not routed, 404 */
	route("/vcek/v1/Turin/cert_chain", 200, "garbage", NULL, NULL, 0);
}

static void
test_vcek_fetch(void)
{
	struct cs_snp_kds kds = {.base = base, .attempts = 3, .backoff_max_ms = 200};
	char cache[256], want[512], last[512], file[512];
	struct cs_buf out;
	uint8_t c[64];
	size_t before;
	struct stat st;

	path_of(cache, sizeof(cache), "cache");
	cs_buf_init(&out, 1 << 20);
	/* Found: the exact URL, the certificate returned and cached under its grammar path. */
	before = log_lines(NULL, 0);
	CHECK_OK(cs_snp_kds_fetch_vcek(cache, &kds, CS_SNP_GENOA, chip, &tcb, &out));
	CHECK(out.len == vcek.len && memcmp(out.p, vcek.p, vcek.len) == 0);
	CHECK(log_lines(last, sizeof(last)) == before + 1);
	vcek_path(want, sizeof(want), "Genoa", chip, 64);
	CHECK_STR(last, want);
	cs_buf_reset(&out);
	CHECK_OK(cs_snp_cache_vcek(cache, CS_SNP_GENOA, chip, &tcb, &out));
	CHECK(out.len == vcek.len && memcmp(out.p, vcek.p, vcek.len) == 0);
	{
		char hex[129];

		hexs(hex, chip, 64);
		snprintf(file, sizeof(file), "%s/snp/Genoa/vcek/%s-bl9-tee0-snp23-ucode217.der",
		         cache, hex);
		CHECK(stat(file, &st) == 0 && (size_t)st.st_size == vcek.len);
	}
	/* Without a cache directory: fetched, nothing written. */
	cs_buf_reset(&out);
	CHECK_OK(cs_snp_kds_fetch_vcek(NULL, &kds, CS_SNP_GENOA, chip, &tcb, &out));
	CHECK(out.len == vcek.len);

	/* 429 + Retry-After: 1, then 200: two requests, success. */
	chip_k(c, 0x01);
	before = log_lines(NULL, 0);
	CHECK_OK(cs_snp_kds_fetch_vcek(cache, &kds, CS_SNP_GENOA, c, &tcb, &out));
	CHECK(log_lines(NULL, 0) == before + 2);
	/* Retry-After: 3600 on every try: each wait capped (200 ms here), 3 tries, then the error.
	 * With one try (the broker's), no wait at all. */
	chip_k(c, 0x02);
	before = log_lines(NULL, 0);
	CHECK_ERR(cs_snp_kds_fetch_vcek(cache, &kds, CS_SNP_GENOA, c, &tcb, &out),
	          CS_ERR_RATE_LIMIT);
	CHECK(log_lines(NULL, 0) == before + 3);
	CHECK(out.len == 0);
	kds.attempts = 1;
	CHECK_ERR(cs_snp_kds_fetch_vcek(cache, &kds, CS_SNP_GENOA, c, &tcb, &out),
	          CS_ERR_RATE_LIMIT);
	CHECK(log_lines(NULL, 0) == before + 4);
	/* 503 without Retry-After: the default first wait (1 s, under the cap), then success. */
	kds.attempts = 3;
	kds.backoff_max_ms = 0;
	chip_k(c, 0x03);
	before = log_lines(NULL, 0);
	CHECK_OK(cs_snp_kds_fetch_vcek(cache, &kds, CS_SNP_GENOA, c, &tcb, &out));
	CHECK(log_lines(NULL, 0) == before + 2);
	/* Retry-After as an HTTP-date: retried and served (that the default wait, not 0 s, is used
	 * is in on_header and not observable here without timing). */
	chip_k(c, 0x08);
	before = log_lines(NULL, 0);
	CHECK_OK(cs_snp_kds_fetch_vcek(cache, &kds, CS_SNP_GENOA, c, &tcb, &out));
	CHECK(log_lines(NULL, 0) == before + 2);
	/* A server slower than the timeout: CS_ERR_TIMEOUT, not retried. */
	kds.timeout_ms = 500;
	chip_k(c, 0x04);
	before = log_lines(NULL, 0);
	CHECK_ERR(cs_snp_kds_fetch_vcek(cache, &kds, CS_SNP_GENOA, c, &tcb, &out), CS_ERR_TIMEOUT);
	CHECK(log_lines(NULL, 0) == before + 1);
	kds.timeout_ms = 0;
	/* 404 (an unknown chip or TCB), a garbage 200, a 500, a body over 256 KiB. */
	chip_k(c, 0x7F);
	CHECK_ERR(cs_snp_kds_fetch_vcek(cache, &kds, CS_SNP_GENOA, c, &tcb, &out),
	          CS_ERR_NOT_FOUND);
	chip_k(c, 0x05);
	CHECK_ERR(cs_snp_kds_fetch_vcek(cache, &kds, CS_SNP_GENOA, c, &tcb, &out), CS_ERR_CERT);
	CHECK_ERR(cs_snp_cache_vcek(cache, CS_SNP_GENOA, c, &tcb, &out), CS_ERR_COLLATERAL);
	chip_k(c, 0x06);
	CHECK_ERR(cs_snp_kds_fetch_vcek(cache, &kds, CS_SNP_GENOA, c, &tcb, &out), CS_ERR_NETWORK);
	chip_k(c, 0x07);
	CHECK_ERR(cs_snp_kds_fetch_vcek(cache, &kds, CS_SNP_GENOA, c, &tcb, &out),
	          CS_ERR_TOO_LARGE);
	/* Turin: the 8-byte hwID and fmcSPL first, as AMD's KDS wants (404 here). */
	{
		struct cs_snp_tcb t = {
		        .fmc = 1, .bootloader = 3, .tee = 2, .snp = 5, .microcode = 97};
		char hex[17];

		CHECK_ERR(cs_snp_kds_fetch_vcek(cache, &kds, CS_SNP_TURIN, chip, &t, &out),
		          CS_ERR_NOT_FOUND);
		log_lines(last, sizeof(last));
		hexs(hex, chip, 8);
		snprintf(want, sizeof(want),
		         "/vcek/v1/Turin/%s?fmcSPL=01&blSPL=03&teeSPL=02&snpSPL=05&ucodeSPL=97",
		         hex);
		CHECK_STR(last, want);
	}
	cs_buf_fini(&out);
}

static void
test_chain_and_bases(void)
{
	struct cs_snp_kds kds = {.base = base, .attempts = 3, .backoff_max_ms = 1500};
	char cache[256], file[512], last[512];
	struct cs_buf out;
	struct stat st;
	size_t before;

	path_of(cache, sizeof(cache), "cache");
	cs_buf_init(&out, 1 << 20);
	CHECK_OK(cs_snp_kds_fetch_chain(cache, &kds, CS_SNP_GENOA));
	snprintf(file, sizeof(file), "%s/snp/Genoa/cert_chain.pem", cache);
	CHECK(stat(file, &st) == 0 && st.st_size > 0);
	snprintf(file, sizeof(file), "%s/snp/Genoa/crl.der", cache);
	CHECK(stat(file, &st) == 0 && st.st_size > 0);
	log_lines(last, sizeof(last));
	CHECK_STR(last, "/vcek/v1/Genoa/crl");
	/* Milan: cert_chain after a 429, then its crl is 404: nothing about a CRL is cached. */
	before = log_lines(NULL, 0);
	CHECK_ERR(cs_snp_kds_fetch_chain(cache, &kds, CS_SNP_MILAN), CS_ERR_NOT_FOUND);
	CHECK(log_lines(NULL, 0) == before + 3);
	snprintf(file, sizeof(file), "%s/snp/Milan/cert_chain.pem", cache);
	CHECK(stat(file, &st) == 0);
	snprintf(file, sizeof(file), "%s/snp/Milan/crl.der", cache);
	CHECK(stat(file, &st) != 0);
	/* A chain that is not PEM certificates is refused and not cached. */
	CHECK_ERR(cs_snp_kds_fetch_chain(cache, &kds, CS_SNP_TURIN), CS_ERR_CERT);
	snprintf(file, sizeof(file), "%s/snp/Turin/cert_chain.pem", cache);
	CHECK(stat(file, &st) != 0);
	CHECK_ERR(cs_snp_kds_fetch_chain(NULL, &kds, CS_SNP_GENOA), CS_ERR_INVAL);

	/* Bases: plain http only to loopback; nothing listening is a network error. */
	before = log_lines(NULL, 0);
	kds.base = "http://kdsintf.amd.com";
	CHECK_ERR(cs_snp_kds_fetch_vcek(NULL, &kds, CS_SNP_GENOA, chip, &tcb, &out), CS_ERR_CONFIG);
	kds.base = "http://127.0.0.1.evil.example";
	CHECK_ERR(cs_snp_kds_fetch_vcek(NULL, &kds, CS_SNP_GENOA, chip, &tcb, &out), CS_ERR_CONFIG);
	kds.base = "http://127.0.0.1:1@kds.example";
	CHECK_ERR(cs_snp_kds_fetch_vcek(NULL, &kds, CS_SNP_GENOA, chip, &tcb, &out), CS_ERR_CONFIG);
	kds.base = "http://localhost@kds.example";
	CHECK_ERR(cs_snp_kds_fetch_vcek(NULL, &kds, CS_SNP_GENOA, chip, &tcb, &out), CS_ERR_CONFIG);
	kds.base = "ftp://127.0.0.1";
	CHECK_ERR(cs_snp_kds_fetch_vcek(NULL, &kds, CS_SNP_GENOA, chip, &tcb, &out), CS_ERR_CONFIG);
	kds.base = "http://127.0.0.1:1";
	CHECK_ERR(cs_snp_kds_fetch_vcek(NULL, &kds, CS_SNP_GENOA, chip, &tcb, &out),
	          CS_ERR_NETWORK);
	CHECK(log_lines(NULL, 0) == before);
	/* The default base, and $CUSTOS_KDS_URL over it. */
	unsetenv(CS_SNP_KDS_ENV);
	CHECK_STR(cs_snp_kds_base(NULL), "https://kdsintf.amd.com");
	setenv(CS_SNP_KDS_ENV, base, 1);
	CHECK_STR(cs_snp_kds_base(NULL), base);
	kds.base = NULL;
	CHECK_STR(cs_snp_kds_base(&kds), base);
	kds.base = "https://kds.example";
	CHECK_STR(cs_snp_kds_base(&kds), "https://kds.example");
	unsetenv(CS_SNP_KDS_ENV);
	cs_buf_fini(&out);
}

/* The broker's verifier with a report that carries no VCEK: offline never asks KDS; online asks
 * once, caches, and the next verification is served from the cache. */
static void
test_broker_online_offline(void)
{
	char roots[256], coll[256];
	struct cs_snp_report r;
	uint8_t rep[CS_SNP_REPORT_LEN], rd[64];
	json_t *ev = NULL, *claims = NULL;
	struct cs_verify_cfg off = {.roots_dir = roots, .collateral_dir = coll, .offline = true};
	struct cs_verify_cfg on = {
	        .roots_dir = roots, .collateral_dir = coll, .offline = false, .kds_base = base};
	struct cs_verify_in in = {.report_data = rd};
	void *st = NULL;
	size_t before;
	char last[512], want[512];

	path_of(roots, sizeof(roots), "roots");
	path_of(coll, sizeof(coll), "broker");
	CHECK(mkdir(coll, 0700) == 0);
	CHECK_OK(cs_snp_sim_save(sim, roots));
	CHECK_OK(cs_time_parse_rfc3339("2026-11-30T00:00:00Z", 20, &in.at));
	memset(rd, 0x11, sizeof(rd));
	cs_snp_sim_template(sim, 3, &r);
	memcpy(r.report_data, rd, sizeof(rd));
	CHECK_OK(cs_snp_sim_sign(sim, &r, rep));
	CHECK_OK(cs_snp_evidence_build(rep, sizeof(rep), NULL, 0, &ev));
	in.evidence = ev;
	/* The configured base wins over $CUSTOS_KDS_URL (here a port nothing listens on). */
	setenv(CS_SNP_KDS_ENV, "http://127.0.0.1:1", 1);
	before = log_lines(NULL, 0);
	CHECK_OK(cs_tee_snp.verifier_new(&off, &st));
	if (st != NULL)
		CHECK_ERR(cs_tee_snp.verify(st, &in, &claims), CS_ERR_COLLATERAL);
	cs_tee_snp.verifier_free(st);
	CHECK(log_lines(NULL, 0) == before);
	st = NULL;
	CHECK_OK(cs_tee_snp.verifier_new(&on, &st));
	if (st != NULL) {
		CHECK_OK(cs_tee_snp.verify(st, &in, &claims));
		json_decref(claims);
		claims = NULL;
		CHECK(log_lines(last, sizeof(last)) == before + 1);
		vcek_path(want, sizeof(want), "Genoa", chip, 64);
		CHECK_STR(last, want);
		CHECK_OK(cs_tee_snp.verify(st, &in, &claims)); /* from the cache now */
		json_decref(claims);
		CHECK(log_lines(NULL, 0) == before + 1);
	}
	cs_tee_snp.verifier_free(st);
	/* Offline again: the fetched VCEK is in the collateral directory. */
	st = NULL;
	claims = NULL;
	CHECK_OK(cs_tee_snp.verifier_new(&off, &st));
	if (st != NULL) {
		CHECK_OK(cs_tee_snp.verify(st, &in, &claims));
		json_decref(claims);
	}
	cs_tee_snp.verifier_free(st);
	CHECK(log_lines(NULL, 0) == before + 1);
	unsetenv(CS_SNP_KDS_ENV);
	json_decref(ev);
}

int
main(void)
{
	struct cs_snp_sim_params sp = {
	        .product = CS_SNP_GENOA,
	        .tcb = tcb,
	};
	char cmd[300];

	if (access(PY, X_OK) != 0) {
		printf("SKIP: 3 fixture tests: %s missing (local KDS server)\n", PY);
		return 0;
	}
	CHECK(mkdtemp(dir) != NULL);
	CHECK_OK(cs_time_parse_rfc3339("2025-01-01T00:00:00Z", 20, &sp.not_before));
	CHECK_OK(cs_time_parse_rfc3339("2032-01-01T00:00:00Z", 20, &sp.not_after));
	for (size_t i = 0; i < 64; i++)
		chip[i] = sp.chip_id[i] = (uint8_t)(0x80 + i);
	CHECK_OK(cs_snp_sim_new(&sp, &sim));
	cs_buf_init(&vcek, 65536);
	if (sim != NULL && cs_snp_sim_vcek_der(sim, &vcek) == CS_OK) {
		setup_routes();
		CHECK(server_start());
		if (server > 0 && base[0] != '\0') {
			T_RUN(test_vcek_fetch);
			T_RUN(test_chain_and_bases);
			T_RUN(test_broker_online_offline);
		}
		server_stop();
	}
	json_decref(routes);
	cs_buf_fini(&vcek);
	cs_snp_sim_free(sim);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	return t_done();
}
