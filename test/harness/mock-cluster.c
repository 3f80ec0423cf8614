/*
 * mock-cluster: runs librdkafka's mock Kafka cluster (real Kafka protocol over TCP on 127.0.0.1)
 * as a child process that tests control through a line protocol on stdin/stdout.
 *
 *   build/mock-cluster [brokers]        (default 3)
 *
 * On start it prints one JSON line:
 *   {"bootstrap":"127.0.0.1:p1,...","brokers":[{"id":1,"host":"127.0.0.1","port":p1},...]}
 * then reads one command per line on stdin and answers each with one JSON line,
 * {"ok":true[,...]} or {"ok":false,"error":"..."}. Commands (see test/harness/README.md):
 *   create TOPIC PARTITIONS [REPLICATION]
 *   down BROKER | up BROKER                 (BROKER -1 = all)
 *   leader TOPIC PARTITION BROKER           (BROKER -1 = leaderless)
 *   follower TOPIC PARTITION BROKER
 *   rtt BROKER MS                           (BROKER -1 = all)
 *   errors APIKEY CODE...                   (cluster-wide error stack, consumed in order)
 *   broker_errors BROKER APIKEY CODE[:RTTMS]...
 *   errcount BROKER APIKEY                  (answers {"ok":true,"count":N})
 *   clear APIKEY                            (clears the cluster-wide stack)
 *   topic_error TOPIC CODE
 *   apiversion APIKEY MIN MAX               (-1 -1 disables the API)
 *   coordinator transaction|group KEY BROKER
 *   ping
 *   quit
 * It exits on `quit`, on stdin EOF and when its parent dies (PR_SET_PDEATHSIG), so a crashed or
 * killed test cannot leave it listening.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static rd_kafka_mock_cluster_t *mcluster;
static int broker_cnt;

static void json_string(const char *s) {
        putchar('"');
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\')
                        printf("\\%c", c);
                else if (c < 0x20)
                        printf("\\u%04x", c);
                else
                        putchar(c);
        }
        putchar('"');
}

static void reply_ok(void) {
        puts("{\"ok\":true}");
        fflush(stdout);
}

static void reply_err(const char *fmt, ...) {
        char buf[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        fputs("{\"ok\":false,\"error\":", stdout);
        json_string(buf);
        puts("}");
        fflush(stdout);
}

static void reply_resp(rd_kafka_resp_err_t err, const char *what) {
        if (err)
                reply_err("%s: %s (%s)", what, rd_kafka_err2name(err), rd_kafka_err2str(err));
        else
                reply_ok();
}

/* Strict integer parse: the whole token must be a number, so a typo is an error, not 0. */
static int parse_int(const char *s, long *out) {
        char *end;
        if (!s || !*s)
                return 0;
        errno = 0;
        *out = strtol(s, &end, 10);
        return errno == 0 && *end == '\0';
}

/* Broker ids are 1..broker_cnt; -1 means all (where the API allows it). The mock silently
 * ignores unknown ids for some calls, so check here to give the test a clear error. */
static int check_broker(long id, int allow_all) {
        if ((allow_all && id == -1) || (id >= 1 && id <= broker_cnt))
                return 1;
        reply_err("unknown broker id %ld (brokers are 1..%d)", id, broker_cnt);
        return 0;
}

#define MAX_ARGS 256

static int handle(char *line) {
        char *argv[MAX_ARGS];
        int argc = 0;
        long a, b, c;
        char *save = NULL;
        for (char *t = strtok_r(line, " \t\r\n", &save); t && argc < MAX_ARGS;
             t = strtok_r(NULL, " \t\r\n", &save))
                argv[argc++] = t;
        if (argc == 0) {
                reply_err("empty command");
                return 1;
        }
        const char *cmd = argv[0];

        if (!strcmp(cmd, "quit")) {
                reply_ok();
                return 0;
        } else if (!strcmp(cmd, "ping")) {
                reply_ok();
        } else if (!strcmp(cmd, "create")) {
                if ((argc != 3 && argc != 4) || !parse_int(argv[2], &a) ||
                    (argc == 4 && !parse_int(argv[3], &b)))
                        return reply_err("usage: create TOPIC PARTITIONS [REPLICATION]"), 1;
                if (argc == 3)
                        b = broker_cnt < 3 ? broker_cnt : 3;
                if (a < 1 || b < 1 || b > broker_cnt)
                        return reply_err("create %s: need partitions >= 1 and 1 <= replication <= %d",
                                         argv[1], broker_cnt), 1;
                reply_resp(rd_kafka_mock_topic_create(mcluster, argv[1], (int)a, (int)b), "create");
        } else if (!strcmp(cmd, "down") || !strcmp(cmd, "up")) {
                if (argc != 2 || !parse_int(argv[1], &a))
                        return reply_err("usage: %s BROKER", cmd), 1;
                if (!check_broker(a, 1))
                        return 1;
                reply_resp(cmd[0] == 'd' ? rd_kafka_mock_broker_set_down(mcluster, (int32_t)a)
                                         : rd_kafka_mock_broker_set_up(mcluster, (int32_t)a),
                           cmd);
        } else if (!strcmp(cmd, "leader") || !strcmp(cmd, "follower")) {
                if (argc != 4 || !parse_int(argv[2], &a) || !parse_int(argv[3], &b))
                        return reply_err("usage: %s TOPIC PARTITION BROKER", cmd), 1;
                if (cmd[0] == 'l' && !check_broker(b, 1))
                        return 1;
                reply_resp(cmd[0] == 'l'
                               ? rd_kafka_mock_partition_set_leader(mcluster, argv[1], (int32_t)a, (int32_t)b)
                               : rd_kafka_mock_partition_set_follower(mcluster, argv[1], (int32_t)a, (int32_t)b),
                           cmd);
        } else if (!strcmp(cmd, "rtt")) {
                if (argc != 3 || !parse_int(argv[1], &a) || !parse_int(argv[2], &b) || b < 0)
                        return reply_err("usage: rtt BROKER MS"), 1;
                if (!check_broker(a, 1))
                        return 1;
                reply_resp(rd_kafka_mock_broker_set_rtt(mcluster, (int32_t)a, (int)b), "rtt");
        } else if (!strcmp(cmd, "errors")) {
                rd_kafka_resp_err_t errs[MAX_ARGS];
                if (argc < 3 || !parse_int(argv[1], &a))
                        return reply_err("usage: errors APIKEY CODE..."), 1;
                for (int i = 2; i < argc; i++) {
                        if (!parse_int(argv[i], &b))
                                return reply_err("errors: bad error code '%s'", argv[i]), 1;
                        errs[i - 2] = (rd_kafka_resp_err_t)b;
                }
                rd_kafka_mock_push_request_errors_array(mcluster, (int16_t)a, (size_t)(argc - 2), errs);
                reply_ok();
        } else if (!strcmp(cmd, "broker_errors")) {
                if (argc < 4 || !parse_int(argv[1], &a) || !parse_int(argv[2], &b))
                        return reply_err("usage: broker_errors BROKER APIKEY CODE[:RTTMS]..."), 1;
                if (!check_broker(a, 0))
                        return 1;
                /* Validate all first so that a bad token pushes nothing. */
                long codes[MAX_ARGS], rtts[MAX_ARGS];
                for (int i = 3; i < argc; i++) {
                        char *colon = strchr(argv[i], ':');
                        rtts[i] = 0;
                        if (colon) {
                                *colon = '\0';
                                if (!parse_int(colon + 1, &rtts[i]) || rtts[i] < 0)
                                        return reply_err("broker_errors: bad rtt in '%s:%s'", argv[i], colon + 1), 1;
                        }
                        if (!parse_int(argv[i], &codes[i]))
                                return reply_err("broker_errors: bad error code '%s'", argv[i]), 1;
                }
                /* The call is variadic; pushing one tuple at a time appends in order. */
                for (int i = 3; i < argc; i++) {
                        rd_kafka_resp_err_t err = rd_kafka_mock_broker_push_request_error_rtts(
                            mcluster, (int32_t)a, (int16_t)b, 1, (rd_kafka_resp_err_t)codes[i], (int)rtts[i]);
                        if (err)
                                return reply_resp(err, "broker_errors"), 1;
                }
                reply_ok();
        } else if (!strcmp(cmd, "errcount")) {
                size_t cnt = 0;
                if (argc != 3 || !parse_int(argv[1], &a) || !parse_int(argv[2], &b))
                        return reply_err("usage: errcount BROKER APIKEY"), 1;
                rd_kafka_resp_err_t err = rd_kafka_mock_broker_error_stack_cnt(mcluster, (int32_t)a, (int16_t)b, &cnt);
                if (err)
                        return reply_resp(err, "errcount"), 1;
                printf("{\"ok\":true,\"count\":%zu}\n", cnt);
                fflush(stdout);
        } else if (!strcmp(cmd, "clear")) {
                if (argc != 2 || !parse_int(argv[1], &a))
                        return reply_err("usage: clear APIKEY"), 1;
                rd_kafka_mock_clear_request_errors(mcluster, (int16_t)a);
                reply_ok();
        } else if (!strcmp(cmd, "topic_error")) {
                if (argc != 3 || !parse_int(argv[2], &a))
                        return reply_err("usage: topic_error TOPIC CODE"), 1;
                rd_kafka_mock_topic_set_error(mcluster, argv[1], (rd_kafka_resp_err_t)a);
                reply_ok();
        } else if (!strcmp(cmd, "apiversion")) {
                if (argc != 4 || !parse_int(argv[1], &a) || !parse_int(argv[2], &b) || !parse_int(argv[3], &c))
                        return reply_err("usage: apiversion APIKEY MIN MAX"), 1;
                reply_resp(rd_kafka_mock_set_apiversion(mcluster, (int16_t)a, (int16_t)b, (int16_t)c), "apiversion");
        } else if (!strcmp(cmd, "coordinator")) {
                if (argc != 4 || !parse_int(argv[3], &a))
                        return reply_err("usage: coordinator transaction|group KEY BROKER"), 1;
                reply_resp(rd_kafka_mock_coordinator_set(mcluster, argv[1], argv[2], (int32_t)a), "coordinator");
        } else {
                reply_err("unknown command '%s'", cmd);
        }
        return 1;
}

/* librdkafka logs go to stderr only when MOCK_CLUSTER_DEBUG is set; otherwise they are noise. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
        (void)rk;
        if (getenv("MOCK_CLUSTER_DEBUG"))
                fprintf(stderr, "mock-cluster %d %s: %s\n", level, fac, buf);
}

int main(int argc, char **argv) {
        char errstr[512];
        long n = 3;
        pid_t parent = getppid();

        /* Die with the parent. Checked again after the call: the parent may already be gone. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
                return 1;
        signal(SIGPIPE, SIG_IGN);

        if (argc > 1 && (!parse_int(argv[1], &n) || n < 1 || n > 64)) {
                fprintf(stderr, "usage: %s [brokers 1..64]\n", argv[0]);
                return 2;
        }
        broker_cnt = (int)n;

        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set_log_cb(conf, log_cb);
        if (getenv("MOCK_CLUSTER_DEBUG") &&
            rd_kafka_conf_set(conf, "debug", getenv("MOCK_CLUSTER_DEBUG"), errstr, sizeof(errstr)))
                fprintf(stderr, "mock-cluster: %s\n", errstr);
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "mock-cluster: rd_kafka_new: %s\n", errstr);
                return 1;
        }
        mcluster = rd_kafka_mock_cluster_new(rk, broker_cnt);
        if (!mcluster) {
                fprintf(stderr, "mock-cluster: rd_kafka_mock_cluster_new failed\n");
                rd_kafka_destroy(rk);
                return 1;
        }

        /* The bootstrap list is "host:port,..." in broker id order (ids 1..N). */
        const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mcluster);
        fputs("{\"bootstrap\":", stdout);
        json_string(bootstrap);
        fputs(",\"brokers\":[", stdout);
        {
                char *copy = strdup(bootstrap), *save = NULL;
                int id = 1;
                for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save), id++) {
                        char *colon = strrchr(t, ':');
                        if (!colon)
                                continue;
                        *colon = '\0';
                        printf("%s{\"id\":%d,\"host\":", id > 1 ? "," : "", id);
                        json_string(t);
                        printf(",\"port\":%s}", colon + 1);
                }
                free(copy);
        }
        puts("]}");
        fflush(stdout);

        char line[8192];
        while (fgets(line, sizeof(line), stdin)) {
                if (!handle(line))
                        break;
        }

        rd_kafka_mock_cluster_destroy(mcluster);
        rd_kafka_destroy(rk);
        return 0;
}
