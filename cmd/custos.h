/*
 * The subcommands of `custos`. Each returns the process exit status: 0 success, 1 a negative
 * verdict (rejected, denied, verification failed), 2 usage or I/O error. argv[0] is the
 * subcommand's own name.
 */
#ifndef CS_CMD_CUSTOS_H
#define CS_CMD_CUSTOS_H

int cs_cmd_admin(int argc, char **argv);
int cs_cmd_collateral(int argc, char **argv);
int cs_cmd_inspect(int argc, char **argv);
int cs_cmd_policy(int argc, char **argv);
int cs_cmd_reseal(int argc, char **argv);
int cs_cmd_seal(int argc, char **argv);
int cs_cmd_sim(int argc, char **argv);
int cs_cmd_store(int argc, char **argv);
int cs_cmd_unseal(int argc, char **argv);
int cs_cmd_verify(int argc, char **argv);
int cs_cmd_version(int argc, char **argv);

#endif
