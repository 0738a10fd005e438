/*
 * The SEV-SNP attester, guest side: configfs-tsm first (Linux >= 6.7,
 * Documentation/ABI/testing/configfs-tsm), /dev/sev-guest SNP_GET_EXT_REPORT as the fallback
 * (linux/sev-guest.h). Both give the raw report and, when the host provides them, the certificate
 * table with the VCEK or VLEK (GHCB spec §4.1.8.1); the evidence is Trustee's `snp` JSON.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sev-guest.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/secret.h"
#include "crypto/rand.h"
#include "tee/snp/attest.h"
#include "tee/snp/evidence.h"

#define TSM_REPORT_DIR "/sys/kernel/config/tsm/report"
#define SEV_GUEST_DEV "/dev/sev-guest"
#define AUX_MAX (1024 * 1024)
#define EXT_CERTS_START (4 * 4096)
#define EXT_BUSY_RETRIES 10

bool
cs_snp_attest_available(void)
{
	struct stat st;
	char provider[32] = {0};
	FILE *f;

	if (stat(SEV_GUEST_DEV, &st) == 0)
		return true;
	/* An explicitly named configfs-tsm root (a test, a non-standard mount) is taken as is. */
	if (getenv(CS_SNP_TSM_ENV) != NULL && getenv(CS_SNP_TSM_ENV)[0] != '\0')
		return stat(cs_snp_tsm_root(), &st) == 0;
	/* configfs-tsm exists on TDX guests too: only a sev_guest provider counts. */
	f = fopen("/sys/module/sev_guest/initstate", "r");
	if (f == NULL)
		return false;
	if (fgets(provider, sizeof(provider), f) == NULL)
		provider[0] = '\0';
	fclose(f);
	return strncmp(provider, "live", 4) == 0 && stat(TSM_REPORT_DIR, &st) == 0;
}

static enum cs_err
tsm_write(const char *dir, const char *name, const void *p, size_t n)
{
	char path[512];
	int fd;
	ssize_t w;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	ENSURE(fd >= 0, CS_ERR_IO);
	w = write(fd, p, n);
	close(fd);
	ENSURE(w >= 0 && (size_t)w == n, CS_ERR_IO);
	return CS_OK;
}

static enum cs_err
tsm_read(const char *dir, const char *name, size_t max, struct cs_buf *out)
{
	char path[512];
	uint8_t chunk[4096];
	ssize_t got;
	int fd;
	enum cs_err err = CS_OK;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ENSURE(fd >= 0, errno == ENOENT ? CS_ERR_NOT_FOUND : CS_ERR_IO);
	while (err == CS_OK && (got = read(fd, chunk, sizeof(chunk))) != 0) {
		if (got < 0)
			err = errno == EINTR ? CS_OK : CS_ERR_IO;
		else
			err = out->len + (size_t)got > max ? CS_ERR_TOO_LARGE
			                                   : cs_buf_append(out, chunk, (size_t)got);
	}
	close(fd);
	return err;
}

/* The generation attribute: a decimal count and a newline. */
static enum cs_err
tsm_generation(const char *dir, unsigned long *gen)
{
	struct cs_buf b;
	unsigned long v = 0;
	size_t i;
	enum cs_err err;

	cs_buf_init(&b, 32);
	err = tsm_read(dir, "generation", 32, &b);
	for (i = 0; err == CS_OK && i < b.len && b.p[i] >= '0' && b.p[i] <= '9' && i < 18; i++)
		v = v * 10 + (unsigned long)(b.p[i] - '0');
	if (err == CS_OK && (i == 0 || (i < b.len && !(b.p[i] == '\n' && i + 1 == b.len))))
		err = CS_ERR_PROTOCOL;
	cs_buf_fini(&b);
	*gen = v;
	return err;
}

/*
 * One configfs-tsm report under root: mkdir, (privlevel), inblob, outblob, auxblob, rmdir. The
 * kernel counts every write to inblob or an option in generation; anything but our own writes
 * between the first write and the outblob read means someone else shaped this report.
 */
static enum cs_err
attest_tsm(const char *root, const uint8_t *report_data, struct cs_buf *report, struct cs_buf *aux)
{
	char dir[4096];
	uint8_t rnd[8];
	unsigned long gen0 = 0, gen1 = 0, writes = 0;
	struct cs_buf floor, prov;
	enum cs_err err;

	TRY(cs_random(rnd, sizeof(rnd)));
	ENSURE((size_t)snprintf(dir, sizeof(dir), "%s/custos-%ld-%02x%02x%02x%02x", root,
	                        (long)getpid(), rnd[0], rnd[1], rnd[2], rnd[3]) < sizeof(dir),
	       CS_ERR_INVAL);
	ENSURE(mkdir(dir, 0700) == 0,
	       errno == ENOENT || errno == ENXIO ? CS_ERR_NO_TEE : CS_ERR_IO);
	cs_buf_init(&floor, 64);
	cs_buf_init(&prov, 64);
	err = tsm_read(dir, "provider", 64, &prov);
	/* configfs-tsm is also TDX's (and others'): only the sev_guest provider is SEV-SNP. */
	if (err == CS_OK && !(prov.len >= 9 && memcmp(prov.p, "sev_guest", 9) == 0 &&
	                      (prov.len == 9 || (prov.len == 10 && prov.p[9] == '\n'))))
		err = CS_ERR_NO_TEE;
	if (err == CS_OK)
		err = tsm_generation(dir, &gen0);
	/* Under an SVSM the guest OS is above VMPL 0: ask for the lowest level it may. */
	if (err == CS_OK && tsm_read(dir, "privlevel_floor", 64, &floor) == CS_OK &&
	    floor.len > 0 && floor.p[0] != '0') {
		err = tsm_write(dir, "privlevel", floor.p, floor.len);
		writes++;
	}
	if (err == CS_OK) {
		err = tsm_write(dir, "inblob", report_data, CS_REPORT_DATA_LEN);
		writes++;
	}
	if (err == CS_OK)
		err = tsm_read(dir, "outblob", CS_SNP_REPORT_LEN, report);
	if (err == CS_OK && report->len != CS_SNP_REPORT_LEN)
		err = CS_ERR_TRUNCATED;
	if (err == CS_OK) {
		err = tsm_read(dir, "auxblob", AUX_MAX, aux);
		if (err == CS_ERR_NOT_FOUND)
			err = CS_OK; /* a kernel without auxblob: no certificates from the host */
	}
	if (err == CS_OK)
		err = tsm_generation(dir, &gen1);
	if (err == CS_OK && gen1 != gen0 + writes)
		err = CS_ERR_STATE;
	/* The report must bind what we wrote (REPORT_DATA at 0x50). */
	if (err == CS_OK && !cs_ct_eq(report->p + 0x50, report_data, CS_REPORT_DATA_LEN))
		err = CS_ERR_BINDING;
	rmdir(dir);
	cs_buf_fini(&floor);
	cs_buf_fini(&prov);
	return err;
}

/* SNP_GET_EXT_REPORT, growing the certificate buffer when the host asks for more. */
static enum cs_err
attest_ioctl(const uint8_t *report_data, struct cs_buf *report, struct cs_buf *aux)
{
	struct snp_ext_report_req req;
	struct snp_report_resp resp;
	struct snp_guest_request_ioctl io;
	uint32_t certs_len = EXT_CERTS_START, status, size;
	uint8_t *certs = NULL;
	enum cs_err err = CS_ERR_IO;
	bool ok = false;
	int fd = open(SEV_GUEST_DEV, O_RDWR | O_CLOEXEC);

	ENSURE(fd >= 0, errno == ENOENT ? CS_ERR_NO_TEE : CS_ERR_IO);
	for (int tries = 0; tries < EXT_BUSY_RETRIES; tries++) {
		free(certs);
		certs = aligned_alloc(4096, certs_len);
		err = CS_ERR_NOMEM;
		if (certs == NULL)
			break;
		memset(certs, 0, certs_len);
		memset(&req, 0, sizeof(req));
		memset(&resp, 0, sizeof(resp));
		memset(&io, 0, sizeof(io));
		memcpy(req.data.user_data, report_data, CS_REPORT_DATA_LEN);
		req.certs_address = (uint64_t)(uintptr_t)certs;
		req.certs_len = certs_len;
		io.msg_version = 1;
		io.req_data = (uint64_t)(uintptr_t)&req;
		io.resp_data = (uint64_t)(uintptr_t)&resp;
		err = CS_ERR_IO;
		if (ioctl(fd, SNP_GET_EXT_REPORT, &io) == 0) {
			ok = true;
			break;
		}
		if (io.vmm_error == SNP_GUEST_VMM_ERR_INVALID_LEN && req.certs_len > certs_len &&
		    req.certs_len <= AUX_MAX) {
			certs_len = req.certs_len;
			continue;
		}
		if (io.vmm_error != SNP_GUEST_VMM_ERR_BUSY)
			break;
		usleep(100000);
	}
	close(fd);
	if (ok) {
		/* MSG_REPORT_RSP: u32 status, u32 report_size, 24 reserved, the report. */
		memcpy(&status, resp.data, 4);
		memcpy(&size, resp.data + 4, 4);
		err = status == 0 && size == CS_SNP_REPORT_LEN
		              ? cs_buf_append(report, resp.data + 0x20, CS_SNP_REPORT_LEN)
		              : CS_ERR_PROTOCOL;
		if (err == CS_OK)
			err = cs_buf_append(aux, certs, certs_len);
	}
	free(certs);
	return err;
}

const char *
cs_snp_tsm_root(void)
{
	const char *env = getenv(CS_SNP_TSM_ENV);

	return env != NULL && env[0] != '\0' ? env : TSM_REPORT_DIR;
}

/* The VCEK, else the VLEK, from a certificate table; none when the table holds neither. */
static enum cs_err
aux_vek(const struct cs_buf *aux, const uint8_t **vek, size_t *vek_len)
{
	enum cs_err err;

	*vek = NULL;
	*vek_len = 0;
	if (aux->len == 0)
		return CS_OK; /* the verifier fetches the VCEK or finds it in its cache */
	err = cs_snp_certtable_find(aux->p, aux->len, cs_snp_guid_vcek, vek, vek_len);
	if (err == CS_ERR_NOT_FOUND)
		err = cs_snp_certtable_find(aux->p, aux->len, cs_snp_guid_vlek, vek, vek_len);
	if (err == CS_ERR_NOT_FOUND) {
		*vek = NULL;
		*vek_len = 0;
		return CS_OK;
	}
	return err;
}

static enum cs_err
attest(const char *tsm_root, bool fallback, const uint8_t *report_data, json_t **evidence)
{
	struct cs_buf report, aux;
	const uint8_t *vek = NULL;
	size_t vek_len = 0;
	enum cs_err err;

	*evidence = NULL;
	cs_buf_init(&report, CS_SNP_REPORT_LEN);
	cs_buf_init(&aux, AUX_MAX);
	err = attest_tsm(tsm_root, report_data, &report, &aux);
	if (err == CS_ERR_NO_TEE && fallback) {
		cs_buf_reset(&report);
		cs_buf_reset(&aux);
		err = attest_ioctl(report_data, &report, &aux);
	}
	if (err == CS_OK)
		err = aux_vek(&aux, &vek, &vek_len);
	if (err == CS_OK)
		err = cs_snp_evidence_build(report.p, report.len, vek, vek_len, evidence);
	cs_buf_fini(&report);
	cs_buf_fini(&aux);
	return err;
}

enum cs_err
cs_snp_attest(const uint8_t *report_data, json_t **evidence)
{
	return attest(cs_snp_tsm_root(), true, report_data, evidence);
}

enum cs_err
cs_snp_attest_tsm(const char *tsm_root, const uint8_t *report_data, json_t **evidence)
{
	return attest(tsm_root, false, report_data, evidence);
}
