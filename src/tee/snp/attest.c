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

/* One configfs-tsm report: mkdir, inblob, outblob, auxblob, generation check, rmdir. */
static enum cs_err
attest_tsm(const uint8_t *report_data, struct cs_buf *report, struct cs_buf *aux)
{
	char dir[256];
	uint8_t rnd[8];
	struct cs_buf gen, prov;
	enum cs_err err;

	TRY(cs_random(rnd, sizeof(rnd)));
	snprintf(dir, sizeof(dir), "%s/custos-%ld-%02x%02x%02x%02x", TSM_REPORT_DIR, (long)getpid(),
	         rnd[0], rnd[1], rnd[2], rnd[3]);
	ENSURE(mkdir(dir, 0700) == 0, errno == ENOENT ? CS_ERR_NO_TEE : CS_ERR_IO);
	cs_buf_init(&gen, 64);
	cs_buf_init(&prov, 64);
	err = tsm_read(dir, "provider", 64, &prov);
	if (err == CS_OK && (prov.len < 9 || memcmp(prov.p, "sev_guest", 9) != 0))
		err = CS_ERR_NO_TEE;
	/* Under an SVSM the guest OS is above VMPL 0: ask for the lowest level it may. */
	if (err == CS_OK && tsm_read(dir, "privlevel_floor", 64, &gen) == CS_OK && gen.len > 0 &&
	    gen.p[0] != '0')
		err = tsm_write(dir, "privlevel", gen.p, gen.len);
	cs_buf_reset(&gen);
	if (err == CS_OK)
		err = tsm_write(dir, "inblob", report_data, CS_REPORT_DATA_LEN);
	if (err == CS_OK)
		err = tsm_read(dir, "outblob", CS_SNP_REPORT_LEN, report);
	if (err == CS_OK) {
		err = tsm_read(dir, "auxblob", AUX_MAX, aux);
		if (err == CS_ERR_NOT_FOUND)
			err = CS_OK; /* no certificates from the host */
	}
	/* Another writer between our inblob and outblob would change generation from 1. */
	if (err == CS_OK)
		err = tsm_read(dir, "generation", 64, &gen);
	if (err == CS_OK &&
	    !(gen.len >= 1 && gen.p[0] == '1' && (gen.len == 1 || gen.p[1] == '\n')))
		err = CS_ERR_STATE;
	rmdir(dir);
	cs_buf_fini(&gen);
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

enum cs_err
cs_snp_attest(const uint8_t *report_data, json_t **evidence)
{
	struct cs_buf report, aux;
	const uint8_t *vek = NULL;
	size_t vek_len = 0;
	enum cs_err err;

	cs_buf_init(&report, CS_SNP_REPORT_LEN);
	cs_buf_init(&aux, AUX_MAX);
	err = attest_tsm(report_data, &report, &aux);
	if (err == CS_ERR_NO_TEE) {
		cs_buf_reset(&report);
		cs_buf_reset(&aux);
		err = attest_ioctl(report_data, &report, &aux);
	}
	if (err == CS_OK && aux.len > 0 &&
	    cs_snp_certtable_find(aux.p, aux.len, cs_snp_guid_vcek, &vek, &vek_len) != CS_OK &&
	    cs_snp_certtable_find(aux.p, aux.len, cs_snp_guid_vlek, &vek, &vek_len) != CS_OK) {
		vek = NULL; /* the verifier fetches the VCEK or finds it in its cache */
		vek_len = 0;
	}
	if (err == CS_OK)
		err = cs_snp_evidence_build(report.p, report.len, vek, vek_len, evidence);
	cs_buf_fini(&report);
	cs_buf_fini(&aux);
	return err;
}
