/* Config file parsing and the default fleet for the simulated NVML. */
#define _POSIX_C_SOURCE 200809L
#include "sim_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define CONFIG_ENV "GPUFLEET_NVML_SIM_CONFIG"
#define A6000_MEM 51527024640ULL /* 49140 MiB, as nvidia-smi reports */

pthread_mutex_t sim_lock = PTHREAD_MUTEX_INITIALIZER;
struct sim_state sim;
int sim_initialized;

/* Identity of the config file last parsed (for change detection). */
static struct { int valid; dev_t dev; ino_t ino; off_t size; struct timespec mtim; } seen;

/* Keys of delivered events (process lifetime). */
static char **delivered;
static size_t ndelivered, cap_delivered;

int sim_event_delivered(const char *key)
{
    for (size_t i = 0; i < ndelivered; i++)
        if (strcmp(delivered[i], key) == 0) return 1;
    return 0;
}

void sim_event_mark_delivered(const char *key)
{
    if (ndelivered == cap_delivered) {
        size_t n = cap_delivered ? cap_delivered * 2 : 32;
        char **p = realloc(delivered, n * sizeof *p);
        if (!p) return;
        delivered = p;
        cap_delivered = n;
    }
    char *k = strdup(key);
    if (k) delivered[ndelivered++] = k;
}

static void default_gpu(struct nvmlDevice_st *g, unsigned i)
{
    memset(g, 0, sizeof *g);
    g->index = i;
    snprintf(g->uuid, sizeof g->uuid, "GPU-5e0a1c3%u-7d2b-4f6e-9a81-0c4d2f6b8e%02u", i % 10, i);
    snprintf(g->name, sizeof g->name, "NVIDIA RTX A6000");
    snprintf(g->serial, sizeof g->serial, "13220210%05u", 4100 + i);
    g->domain = 0;
    g->bus = 0x18 + i;
    g->device = 0;
    g->pci_device_id = 0x223010DE;
    g->pci_subsystem_id = 0x145910DE;
    g->numa = i < 4 ? 0 : 1;
    g->mem_total = A6000_MEM;
    g->mem_used = 1048576ULL;
    g->temp = 30 + i;
    g->power_mw = 21000 + 500 * i;
    g->power_limit_mw = 300000;
    g->energy_mj = 1000000ULL * (i + 1);
    g->ecc = 1;
}

static void finish_pci(struct nvmlDevice_st *g)
{
    snprintf(g->pci, sizeof g->pci, NVML_DEVICE_PCI_BUS_ID_FMT, g->domain, g->bus, g->device);
}

static void default_fleet(struct sim_state *s)
{
    s->count = 8;
    for (unsigned i = 0; i < 8; i++) {
        default_gpu(&s->gpus[i], i);
        finish_pci(&s->gpus[i]);
    }
    for (unsigned i = 0; i < 8; i += 2)
        s->nvlink[i][i + 1] = s->nvlink[i + 1][i] = 1;
}

static void init_state(struct sim_state *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->driver, sizeof s->driver, "550.127.05");
    s->cuda = 12040;
    for (unsigned i = 0; i < SIM_MAX_GPUS; i++)
        for (unsigned j = 0; j < SIM_MAX_GPUS; j++)
            s->topo[i][j] = -1;
}

/* Split a line into tokens; handles key="quoted value" and # comments.
 * Tokens point into buf (modified). Returns the token count. */
static int tokenize(char *buf, char **tok, int max)
{
    int n = 0;
    char *p = buf;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
        if (!*p || *p == '#') break;
        if (n == max) return -1;
        char *out = p;
        tok[n++] = out;
        int quoted = 0;
        while (*p && (quoted || (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && *p != '#'))) {
            if (*p == '"') { quoted = !quoted; p++; continue; }
            *out++ = *p++;
        }
        int end = (*p == '\0' || *p == '#');
        char c = *p;
        *out = '\0';
        if (end) { if (c == '#') *p = '\0'; break; }
        p++;
    }
    return n;
}

static int parse_ull(const char *v, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 0);
    if (errno || end == v || *end || *v == '-') return -1;
    *out = x;
    return 0;
}

static int parse_uint(const char *v, unsigned *out)
{
    unsigned long long x;
    if (parse_ull(v, &x) || x > 0xFFFFFFFFULL) return -1;
    *out = (unsigned)x;
    return 0;
}

static int parse_gpu_index(const char *v, unsigned *out)
{
    return (parse_uint(v, out) || *out >= SIM_MAX_GPUS) ? -1 : 0;
}

static int set_gpu_key(struct nvmlDevice_st *g, const char *k, const char *v)
{
    unsigned u;
    if (!strcmp(k, "uuid")) return snprintf(g->uuid, sizeof g->uuid, "%s", v) >= (int)sizeof g->uuid ? -1 : 0;
    if (!strcmp(k, "name")) return snprintf(g->name, sizeof g->name, "%s", v) >= (int)sizeof g->name ? -1 : 0;
    if (!strcmp(k, "serial")) return snprintf(g->serial, sizeof g->serial, "%s", v) >= (int)sizeof g->serial ? -1 : 0;
    if (!strcmp(k, "pci")) {
        unsigned d, b, dev, fn;
        char tail;
        if (sscanf(v, "%x:%x:%x.%x%c", &d, &b, &dev, &fn, &tail) != 4) return -1;
        g->domain = d; g->bus = b; g->device = dev;
        return 0;
    }
    if (!strcmp(k, "numa")) { int n; char tail; if (sscanf(v, "%d%c", &n, &tail) != 1) return -1; g->numa = n; return 0; }
    if (!strcmp(k, "mem_total")) return parse_ull(v, &g->mem_total);
    if (!strcmp(k, "mem_used")) return parse_ull(v, &g->mem_used);
    if (!strcmp(k, "util_gpu")) return parse_uint(v, &g->util_gpu);
    if (!strcmp(k, "util_mem")) return parse_uint(v, &g->util_mem);
    if (!strcmp(k, "temp")) return parse_uint(v, &g->temp);
    if (!strcmp(k, "power_mw")) return parse_uint(v, &g->power_mw);
    if (!strcmp(k, "power_limit_mw")) return parse_uint(v, &g->power_limit_mw);
    if (!strcmp(k, "energy_mj")) return parse_ull(v, &g->energy_mj);
    if (!strcmp(k, "ecc_sbe")) return parse_ull(v, &g->ecc_sbe);
    if (!strcmp(k, "ecc_dbe")) return parse_ull(v, &g->ecc_dbe);
    if (!strcmp(k, "pci_device_id")) return parse_uint(v, &g->pci_device_id);
    if (!strcmp(k, "ecc")) { if (parse_uint(v, &u) || u > 1) return -1; g->ecc = (int)u; return 0; }
    if (!strcmp(k, "mig")) { if (parse_uint(v, &u) || u > 1) return -1; g->mig = (int)u; return 0; }
    if (!strcmp(k, "mig_devices")) { if (parse_uint(v, &u) || u > SIM_MAX_MIG) return -1; g->mig_devices = u; return 0; }
    return -1;
}

static unsigned field_bit(const char *f)
{
    static const struct { const char *name; unsigned bit; } fields[] = {
        {"power", F_POWER}, {"energy", F_ENERGY}, {"temp", F_TEMP}, {"util", F_UTIL},
        {"ecc", F_ECC}, {"mig", F_MIG}, {"numa", F_NUMA}, {"serial", F_SERIAL},
        {"processes", F_PROCESSES}, {"memory", F_MEMORY}, {"pci", F_PCI},
        {"topology", F_TOPOLOGY}, {"events", F_EVENTS},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (!strcmp(f, fields[i].name)) return fields[i].bit;
    return 0;
}

static int topo_level(const char *v)
{
    static const struct { const char *name; int level; } levels[] = {
        {"INTERNAL", NVML_TOPOLOGY_INTERNAL}, {"SINGLE", NVML_TOPOLOGY_SINGLE},
        {"MULTIPLE", NVML_TOPOLOGY_MULTIPLE}, {"HOSTBRIDGE", NVML_TOPOLOGY_HOSTBRIDGE},
        {"NODE", NVML_TOPOLOGY_NODE}, {"SYSTEM", NVML_TOPOLOGY_SYSTEM},
    };
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (!strcasecmp(v, levels[i].name)) return levels[i].level;
    return -1;
}

/* Parse one line (already tokenized). raw is the trimmed line text, used as
 * the event key. Returns 0 or -1. */
static int parse_line(struct sim_state *s, int *has_gpu_lines, int *empty_fleet,
                      char **t, int n, const char *raw)
{
    unsigned i, j;
    if (!strcmp(t[0], "driver") && n == 2)
        return snprintf(s->driver, sizeof s->driver, "%s", t[1]) >= (int)sizeof s->driver ? -1 : 0;
    if (!strcmp(t[0], "cuda") && n == 2) {
        char tail;
        return sscanf(t[1], "%d%c", &s->cuda, &tail) == 1 ? 0 : -1;
    }
    if (!strcmp(t[0], "fleet") && n == 2 && !strcmp(t[1], "empty")) { *empty_fleet = 1; return 0; }
    if (!strcmp(t[0], "gpu")) {
        if (s->count == SIM_MAX_GPUS) return -1;
        struct nvmlDevice_st *g = &s->gpus[s->count];
        default_gpu(g, s->count);
        for (int k = 1; k < n; k++) {
            char *eq = strchr(t[k], '=');
            if (!eq) return -1;
            *eq = '\0';
            if (set_gpu_key(g, t[k], eq + 1)) return -1;
        }
        finish_pci(g);
        s->count++;
        *has_gpu_lines = 1;
        return 0;
    }
    if (!strcmp(t[0], "topology") && n == 4) {
        if (parse_gpu_index(t[1], &i) || parse_gpu_index(t[2], &j) || i == j) return -1;
        if (!strcasecmp(t[3], "NVLINK")) { s->nvlink[i][j] = s->nvlink[j][i] = 1; return 0; }
        int level = topo_level(t[3]);
        if (level < 0) return -1;
        s->topo[i][j] = s->topo[j][i] = level;
        return 0;
    }
    if (!strcmp(t[0], "process") && n >= 2) {
        if (s->nprocs == SIM_MAX_PROCS || parse_gpu_index(t[1], &i)) return -1;
        struct sim_proc *p = &s->procs[s->nprocs];
        p->gpu = i; p->pid = 0; p->mem = 0;
        for (int k = 2; k < n; k++) {
            if (!strncmp(t[k], "pid=", 4)) { if (parse_uint(t[k] + 4, &p->pid)) return -1; }
            else if (!strncmp(t[k], "mem=", 4)) { if (parse_ull(t[k] + 4, &p->mem)) return -1; }
            else return -1;
        }
        s->nprocs++;
        return 0;
    }
    if (!strcmp(t[0], "fault")) {
        if (n == 2 && !strcmp(t[1], "driver_not_loaded")) { s->faults.driver_not_loaded = 1; return 0; }
        if (n < 4 || strcmp(t[1], "gpu") || parse_gpu_index(t[2], &i)) return -1;
        if (n == 4 && !strcmp(t[3], "lost")) { s->faults.lost[i] = 1; return 0; }
        if (n == 4 && !strcmp(t[3], "no_permission")) { s->faults.no_permission[i] = 1; return 0; }
        if (n >= 5 && !strcmp(t[3], "not_supported")) {
            for (int k = 4; k < n; k++) {
                unsigned bit = field_bit(t[k]);
                if (!bit) return -1;
                s->faults.not_supported[i] |= bit;
            }
            return 0;
        }
        return -1;
    }
    if (!strcmp(t[0], "event") && n >= 4 && !strcmp(t[1], "gpu")) {
        if (s->nevents == SIM_MAX_EVENTS || parse_gpu_index(t[2], &i)) return -1;
        struct sim_event *e = &s->events[s->nevents];
        e->gpu = i;
        e->data = 0;
        if (n == 5 && !strcmp(t[3], "xid")) {
            e->type = nvmlEventTypeXidCriticalError;
            if (parse_ull(t[4], &e->data)) return -1;
        } else if (n == 4 && !strcmp(t[3], "dbe")) {
            e->type = nvmlEventTypeDoubleBitEccError;
        } else if (n == 4 && !strcmp(t[3], "sbe")) {
            e->type = nvmlEventTypeSingleBitEccError;
        } else {
            return -1;
        }
        unsigned ordinal = 0;
        for (unsigned k = 0; k < s->nevents; k++) {
            const char *hash = strrchr(s->events[k].key, '#');
            if (hash && (size_t)(hash - s->events[k].key) == strlen(raw)
                && !strncmp(s->events[k].key, raw, strlen(raw))) ordinal++;
        }
        snprintf(e->key, sizeof e->key, "%s#%u", raw, ordinal);
        s->nevents++;
        return 0;
    }
    return -1;
}

/* Parse the file named by the env var into *s. Returns 0, or -1 with a
 * message on stderr. st receives the file's stat (when there is a file). */
static int parse_config(struct sim_state *s, struct stat *st, int *have_file)
{
    init_state(s);
    *have_file = 0;
    const char *path = getenv(CONFIG_ENV);
    if (!path || !*path) { default_fleet(s); return 0; }
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "nvml-sim: cannot open %s=%s: %s\n", CONFIG_ENV, path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), st) == 0) *have_file = 1;
    char line[SIM_LINE_MAX], buf[SIM_LINE_MAX];
    char *tok[32];
    int lineno = 0, has_gpu_lines = 0, empty_fleet = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        /* Trim the raw text (without comment) for event keys. */
        char *c = strchr(line, '#');
        if (c) *c = '\0';
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
            line[--len] = '\0';
        char *raw = line;
        while (*raw == ' ' || *raw == '\t') raw++;
        memcpy(buf, raw, strlen(raw) + 1);
        int n = tokenize(buf, tok, 32);
        if (n == 0) continue;
        if (n < 0 || parse_line(s, &has_gpu_lines, &empty_fleet, tok, n, raw)) {
            fprintf(stderr, "nvml-sim: %s:%d: cannot parse: %s\n", path, lineno, raw);
            rc = -1;
            break;
        }
    }
    fclose(f);
    if (rc == 0 && !has_gpu_lines && !empty_fleet) {
        /* Keep explicit topology lines; add the default NVLink pairs. */
        unsigned char nv[SIM_MAX_GPUS][SIM_MAX_GPUS];
        memcpy(nv, s->nvlink, sizeof nv);
        default_fleet(s);
        for (unsigned i = 0; i < SIM_MAX_GPUS; i++)
            for (unsigned j = 0; j < SIM_MAX_GPUS; j++)
                s->nvlink[i][j] |= nv[i][j];
    }
    return rc;
}

static void remember(const struct stat *st, int have_file)
{
    seen.valid = have_file;
    if (have_file) {
        seen.dev = st->st_dev; seen.ino = st->st_ino;
        seen.size = st->st_size; seen.mtim = st->st_mtim;
    }
}

int sim_load(void)
{
    struct sim_state *s = malloc(sizeof *s);
    if (!s) return -1;
    struct stat st;
    int have_file;
    int rc = parse_config(s, &st, &have_file);
    if (rc == 0) {
        /* Rewrite handles in place so old pointers stay valid memory. */
        memcpy(&sim, s, sizeof sim);
        remember(&st, have_file);
    }
    free(s);
    return rc;
}

void sim_refresh(void)
{
    const char *path = getenv(CONFIG_ENV);
    if (!path || !*path) return;
    struct stat st;
    if (stat(path, &st) != 0) return;
    if (seen.valid && st.st_dev == seen.dev && st.st_ino == seen.ino && st.st_size == seen.size
        && st.st_mtim.tv_sec == seen.mtim.tv_sec && st.st_mtim.tv_nsec == seen.mtim.tv_nsec)
        return;
    struct sim_state *s = malloc(sizeof *s);
    if (!s) return;
    int have_file;
    /* A half-written file fails to parse: keep the old faults and retry. */
    if (parse_config(s, &st, &have_file) == 0) {
        sim.faults = s->faults;
        sim.nevents = s->nevents;
        memcpy(sim.events, s->events, sizeof sim.events);
        remember(&st, have_file);
    }
    free(s);
}
