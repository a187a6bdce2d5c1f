/* Tests for the simulated NVML. Loads the library with dlopen(), as JNA
 * does, and resolves every function by its exported (versioned) name.
 * Usage: sim_test LIBRARY WORKDIR */
#define _POSIX_C_SOURCE 200809L
#include <nvml.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Function pointers typed from the real header's declarations. */
#define FN(name) static __typeof__(&name) p_##name
FN(nvmlInit_v2); FN(nvmlInitWithFlags); FN(nvmlShutdown); FN(nvmlErrorString);
FN(nvmlSystemGetDriverVersion); FN(nvmlSystemGetCudaDriverVersion); FN(nvmlSystemGetCudaDriverVersion_v2);
FN(nvmlDeviceGetCount_v2); FN(nvmlDeviceGetHandleByIndex_v2); FN(nvmlDeviceGetHandleByUUID);
FN(nvmlDeviceGetUUID); FN(nvmlDeviceGetName); FN(nvmlDeviceGetSerial); FN(nvmlDeviceGetIndex);
FN(nvmlDeviceGetPciInfo_v3); FN(nvmlDeviceGetMemoryInfo); FN(nvmlDeviceGetUtilizationRates);
FN(nvmlDeviceGetTemperature); FN(nvmlDeviceGetPowerUsage); FN(nvmlDeviceGetEnforcedPowerLimit);
FN(nvmlDeviceGetTotalEnergyConsumption); FN(nvmlDeviceGetEccMode); FN(nvmlDeviceGetTotalEccErrors);
FN(nvmlDeviceGetMigMode); FN(nvmlDeviceGetTopologyCommonAncestor); FN(nvmlDeviceGetP2PStatus);
FN(nvmlDeviceGetComputeRunningProcesses_v3); FN(nvmlEventSetCreate); FN(nvmlDeviceRegisterEvents);
FN(nvmlDeviceGetSupportedEventTypes); FN(nvmlEventSetWait_v2); FN(nvmlEventSetFree);

static int passed, failed;
static char config[512];

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "PASS" : "FAIL", what);
    if (ok) passed++; else failed++;
}

#define CHECK_RC(call, want, what) do { nvmlReturn_t rc_ = (call); \
    if (rc_ != (want)) printf("  got %d (%s), want %d\n", rc_, p_nvmlErrorString(rc_), (want)); \
    check(rc_ == (want), what); } while (0)

/* Write the config atomically (temp file + rename), as tests should. */
static void write_config(const char *text)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", config);
    FILE *f = fopen(tmp, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, config) != 0) {
        perror("write_config");
        exit(2);
    }
    setenv("GPUFLEET_NVML_SIM_CONFIG", config, 1);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static nvmlDevice_t handle(unsigned i)
{
    nvmlDevice_t d = NULL;
    p_nvmlDeviceGetHandleByIndex_v2(i, &d);
    return d;
}

static void test_uninitialized(void)
{
    unsigned n;
    char buf[80];
    nvmlDevice_t d;
    CHECK_RC(p_nvmlDeviceGetCount_v2(&n), NVML_ERROR_UNINITIALIZED, "uninitialized: nvmlDeviceGetCount_v2");
    CHECK_RC(p_nvmlSystemGetDriverVersion(buf, sizeof buf), NVML_ERROR_UNINITIALIZED, "uninitialized: nvmlSystemGetDriverVersion");
    CHECK_RC(p_nvmlDeviceGetHandleByIndex_v2(0, &d), NVML_ERROR_UNINITIALIZED, "uninitialized: nvmlDeviceGetHandleByIndex_v2");
    CHECK_RC(p_nvmlShutdown(), NVML_ERROR_UNINITIALIZED, "uninitialized: nvmlShutdown");
}

static void test_default_fleet(void)
{
    unsetenv("GPUFLEET_NVML_SIM_CONFIG");
    CHECK_RC(p_nvmlInit_v2(), NVML_SUCCESS, "default: nvmlInit_v2");
    char buf[96];
    int cuda = 0;
    CHECK_RC(p_nvmlSystemGetDriverVersion(buf, sizeof buf), NVML_SUCCESS, "default: driver version call");
    check(!strcmp(buf, "550.127.05"), "default: driver version 550.127.05");
    check(p_nvmlSystemGetCudaDriverVersion_v2(&cuda) == NVML_SUCCESS && cuda == 12040, "default: cuda 12040");
    unsigned n = 0;
    check(p_nvmlDeviceGetCount_v2(&n) == NVML_SUCCESS && n == 8, "default: 8 GPUs");
    int ok = 1;
    char uuids[8][96];
    for (unsigned i = 0; i < 8; i++) {
        nvmlDevice_t d = handle(i), back = NULL;
        nvmlMemory_t mem;
        nvmlPciInfo_t pci;
        char want[32];
        unsigned idx = 99;
        ok &= d != NULL;
        ok &= p_nvmlDeviceGetName(d, buf, sizeof buf) == NVML_SUCCESS && !strcmp(buf, "NVIDIA RTX A6000");
        ok &= p_nvmlDeviceGetUUID(d, uuids[i], sizeof uuids[i]) == NVML_SUCCESS && !strncmp(uuids[i], "GPU-", 4)
              && strlen(uuids[i]) == 40;
        for (unsigned j = 0; j < i; j++) ok &= strcmp(uuids[i], uuids[j]) != 0;
        ok &= p_nvmlDeviceGetHandleByUUID(uuids[i], &back) == NVML_SUCCESS && back == d;
        ok &= p_nvmlDeviceGetIndex(d, &idx) == NVML_SUCCESS && idx == i;
        ok &= p_nvmlDeviceGetMemoryInfo(d, &mem) == NVML_SUCCESS && mem.total == 51527024640ULL
              && mem.used + mem.free == mem.total;
        snprintf(want, sizeof want, "00000000:%02X:00.0", 0x18 + i);
        ok &= p_nvmlDeviceGetPciInfo_v3(d, &pci) == NVML_SUCCESS && !strcmp(pci.busId, want) && pci.bus == 0x18 + i
              && pci.pciDeviceId == 0x223010DE;
    }
    check(ok, "default: names, unique UUIDs, UUID lookup, index, 48 GiB memory, PCI 18..1F");
    /* Same UUIDs on a second init (stable). */
    p_nvmlShutdown();
    p_nvmlInit_v2();
    char again[96];
    check(p_nvmlDeviceGetUUID(handle(7), again, sizeof again) == NVML_SUCCESS && !strcmp(again, uuids[7]),
          "default: UUIDs stable across init");

    nvmlGpuTopologyLevel_t lvl;
    nvmlGpuP2PStatus_t st;
    check(p_nvmlDeviceGetTopologyCommonAncestor(handle(0), handle(1), &lvl) == NVML_SUCCESS && lvl == NVML_TOPOLOGY_NODE
          && p_nvmlDeviceGetTopologyCommonAncestor(handle(2), handle(3), &lvl) == NVML_SUCCESS && lvl == NVML_TOPOLOGY_NODE
          && p_nvmlDeviceGetTopologyCommonAncestor(handle(4), handle(7), &lvl) == NVML_SUCCESS && lvl == NVML_TOPOLOGY_NODE,
          "default: topology NODE within NUMA node (GPUs 0-3 numa 0, 4-7 numa 1)");
    check(p_nvmlDeviceGetTopologyCommonAncestor(handle(3), handle(4), &lvl) == NVML_SUCCESS && lvl == NVML_TOPOLOGY_SYSTEM,
          "default: topology SYSTEM across NUMA nodes");
    ok = 1;
    for (unsigned i = 0; i < 8; i++)
        for (unsigned j = 0; j < 8; j++) {
            if (i == j) continue;
            int want = (i / 2 == j / 2);
            ok &= p_nvmlDeviceGetP2PStatus(handle(i), handle(j), NVML_P2P_CAPS_INDEX_NVLINK, &st) == NVML_SUCCESS
                  && (st == NVML_P2P_STATUS_OK) == want;
        }
    check(ok, "default: NVLink pairs (0,1),(2,3),(4,5),(6,7) via nvmlDeviceGetP2PStatus");

    unsigned count = 5;
    nvmlProcessInfo_t procs[4];
    check(p_nvmlDeviceGetComputeRunningProcesses_v3(handle(0), &count, procs) == NVML_SUCCESS && count == 0,
          "default: no processes");
    char small[8];
    CHECK_RC(p_nvmlDeviceGetUUID(handle(0), small, sizeof small), NVML_ERROR_INSUFFICIENT_SIZE, "bad args: small UUID buffer");
    CHECK_RC(p_nvmlDeviceGetMemoryInfo(handle(0), NULL), NVML_ERROR_INVALID_ARGUMENT, "bad args: NULL memory");
    CHECK_RC(p_nvmlDeviceGetHandleByIndex_v2(8, &(nvmlDevice_t){0}), NVML_ERROR_INVALID_ARGUMENT, "bad args: index 8");
    CHECK_RC(p_nvmlDeviceGetHandleByUUID("GPU-nope", &(nvmlDevice_t){0}), NVML_ERROR_NOT_FOUND, "bad args: unknown UUID");
    check(!strcmp(p_nvmlErrorString(NVML_ERROR_DRIVER_NOT_LOADED), "Driver Not Loaded")
          && !strcmp(p_nvmlErrorString(NVML_ERROR_GPU_IS_LOST), "GPU is lost")
          && !strcmp(p_nvmlErrorString(NVML_ERROR_NOT_SUPPORTED), "Not Supported")
          && !strcmp(p_nvmlErrorString(NVML_ERROR_NO_PERMISSION), "Insufficient Permissions"),
          "nvmlErrorString wording");
    p_nvmlShutdown();
    p_nvmlShutdown();
    CHECK_RC(p_nvmlDeviceGetCount_v2(&n), NVML_ERROR_UNINITIALIZED, "shutdown: calls after last shutdown uninitialized");
}

static void test_two_gpus(void)
{
    write_config("driver 535.183.01\ncuda 12020\n"
                 "gpu uuid=GPU-aaaaaaaa-0000-0000-0000-000000000001 name=\"NVIDIA L40S\" serial=X1 pci=00000000:3b:00.0 numa=0"
                 " mem_total=48305799168 mem_used=1073741824 util_gpu=7 util_mem=3 temp=41 power_mw=90000"
                 " power_limit_mw=350000 energy_mj=123456 ecc=1 ecc_dbe=2 mig=0  # first\n"
                 "gpu uuid=GPU-bbbbbbbb-0000-0000-0000-000000000002 name=\"NVIDIA L40S\" pci=00000000:86:00.0 numa=1\n"
                 "topology 0 1 HOSTBRIDGE\n"
                 "process 0 pid=1234 mem=1048576\nprocess 0 pid=42 mem=2048\n");
    CHECK_RC(p_nvmlInit_v2(), NVML_SUCCESS, "2 GPUs: init");
    unsigned n = 0;
    char buf[96];
    check(p_nvmlDeviceGetCount_v2(&n) == NVML_SUCCESS && n == 2, "2 GPUs: count 2");
    nvmlDevice_t d = handle(0);
    nvmlMemory_t mem;
    nvmlUtilization_t u;
    unsigned t, pw, lim, cur, pend;
    unsigned long long e, dbe;
    nvmlEnableState_t ec, ep;
    nvmlPciInfo_t pci;
    check(p_nvmlDeviceGetName(d, buf, sizeof buf) == NVML_SUCCESS && !strcmp(buf, "NVIDIA L40S")
          && p_nvmlDeviceGetUUID(handle(1), buf, sizeof buf) == NVML_SUCCESS
          && !strcmp(buf, "GPU-bbbbbbbb-0000-0000-0000-000000000002"), "2 GPUs: names and UUIDs");
    check(p_nvmlDeviceGetSerial(d, buf, sizeof buf) == NVML_SUCCESS && !strcmp(buf, "X1")
          && p_nvmlDeviceGetPciInfo_v3(handle(1), &pci) == NVML_SUCCESS && !strcmp(pci.busId, "00000000:86:00.0")
          && !strcmp(pci.busIdLegacy, "0000:86:00.0") && pci.bus == 0x86, "2 GPUs: serial and PCI");
    check(p_nvmlDeviceGetMemoryInfo(d, &mem) == NVML_SUCCESS && mem.total == 48305799168ULL
          && mem.used == 1073741824ULL + 1048576 + 2048 && mem.free == mem.total - mem.used, "2 GPUs: memory incl. processes");
    check(p_nvmlDeviceGetUtilizationRates(d, &u) == NVML_SUCCESS && u.gpu == 7 && u.memory == 3
          && p_nvmlDeviceGetTemperature(d, NVML_TEMPERATURE_GPU, &t) == NVML_SUCCESS && t == 41
          && p_nvmlDeviceGetPowerUsage(d, &pw) == NVML_SUCCESS && pw == 90000
          && p_nvmlDeviceGetEnforcedPowerLimit(d, &lim) == NVML_SUCCESS && lim == 350000
          && p_nvmlDeviceGetTotalEnergyConsumption(d, &e) == NVML_SUCCESS && e == 123456,
          "2 GPUs: utilization, temperature, power, limit, energy");
    check(p_nvmlDeviceGetEccMode(d, &ec, &ep) == NVML_SUCCESS && ec == NVML_FEATURE_ENABLED
          && p_nvmlDeviceGetTotalEccErrors(d, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC, &dbe) == NVML_SUCCESS
          && dbe == 2 && p_nvmlDeviceGetMigMode(d, &cur, &pend) == NVML_SUCCESS && cur == NVML_DEVICE_MIG_DISABLE,
          "2 GPUs: ECC mode, DBE count, MIG mode");
    nvmlGpuTopologyLevel_t lvl;
    check(p_nvmlDeviceGetTopologyCommonAncestor(d, handle(1), &lvl) == NVML_SUCCESS && lvl == NVML_TOPOLOGY_HOSTBRIDGE,
          "2 GPUs: explicit topology HOSTBRIDGE");
    unsigned count = 1;
    nvmlProcessInfo_t procs[2];
    CHECK_RC(p_nvmlDeviceGetComputeRunningProcesses_v3(d, &count, procs), NVML_ERROR_INSUFFICIENT_SIZE,
             "2 GPUs: processes with too small buffer");
    check(count == 2, "2 GPUs: infoCount tells the needed size");
    check(p_nvmlDeviceGetComputeRunningProcesses_v3(d, &count, procs) == NVML_SUCCESS && count == 2
          && procs[0].pid == 1234 && procs[0].usedGpuMemory == 1048576 && procs[1].pid == 42
          && procs[0].gpuInstanceId == 0xFFFFFFFFu, "2 GPUs: process list");
    p_nvmlShutdown();
}

static void test_faults(void)
{
    write_config("fault driver_not_loaded\n");
    CHECK_RC(p_nvmlInit_v2(), NVML_ERROR_DRIVER_NOT_LOADED, "fault driver_not_loaded: nvmlInit_v2 returns 9");
    unsigned n;
    CHECK_RC(p_nvmlDeviceGetCount_v2(&n), NVML_ERROR_UNINITIALIZED, "fault driver_not_loaded: then uninitialized");

    write_config("# default fleet, no faults yet\n");
    CHECK_RC(p_nvmlInit_v2(), NVML_SUCCESS, "faults: init default fleet");
    nvmlDevice_t d2 = handle(2), d1 = handle(1);
    unsigned pw, t;
    char buf[96];
    check(d2 && p_nvmlDeviceGetUUID(d2, buf, sizeof buf) == NVML_SUCCESS, "faults: GPU 2 healthy before injection");
    write_config("fault gpu 2 lost\nfault gpu 3 no_permission\nfault gpu 1 not_supported power\n");
    CHECK_RC(p_nvmlDeviceGetUUID(d2, buf, sizeof buf), NVML_ERROR_GPU_IS_LOST, "fault lost (runtime): held handle gives GPU_IS_LOST");
    CHECK_RC(p_nvmlDeviceGetHandleByIndex_v2(2, &(nvmlDevice_t){0}), NVML_ERROR_GPU_IS_LOST, "fault lost: handle by index");
    check(p_nvmlDeviceGetCount_v2(&n) == NVML_SUCCESS && n == 8, "fault lost: still counted");
    CHECK_RC(p_nvmlDeviceGetHandleByIndex_v2(3, &(nvmlDevice_t){0}), NVML_ERROR_NO_PERMISSION,
             "fault no_permission: nvmlDeviceGetHandleByIndex_v2 returns 4");
    CHECK_RC(p_nvmlDeviceGetPowerUsage(d1, &pw), NVML_ERROR_NOT_SUPPORTED, "fault not_supported power: power usage");
    CHECK_RC(p_nvmlDeviceGetEnforcedPowerLimit(d1, &pw), NVML_ERROR_NOT_SUPPORTED, "fault not_supported power: power limit");
    CHECK_RC(p_nvmlDeviceGetTemperature(d1, NVML_TEMPERATURE_GPU, &t), NVML_SUCCESS, "fault not_supported power: temp still works");
    write_config("fault gpu 0 not_supported serial mig processes\n");
    unsigned a, b, c = 0;
    CHECK_RC(p_nvmlDeviceGetPowerUsage(d1, &pw), NVML_SUCCESS, "faults cleared at runtime");
    CHECK_RC(p_nvmlDeviceGetSerial(handle(0), buf, sizeof buf), NVML_ERROR_NOT_SUPPORTED, "fault not_supported serial");
    CHECK_RC(p_nvmlDeviceGetMigMode(handle(0), &a, &b), NVML_ERROR_NOT_SUPPORTED, "fault not_supported mig");
    CHECK_RC(p_nvmlDeviceGetComputeRunningProcesses_v3(handle(0), &c, NULL), NVML_ERROR_NOT_SUPPORTED, "fault not_supported processes");
    p_nvmlShutdown();

    write_config("gpu bogus=1\n");
    CHECK_RC(p_nvmlInit_v2(), NVML_ERROR_UNKNOWN, "bad config: nvmlInit_v2 fails with Unknown Error");
}

static void *inject_later(void *arg)
{
    (void)arg;
    struct timespec ts = { 0, 200 * 1000000L };
    nanosleep(&ts, NULL);
    write_config("event gpu 4 xid 79\nevent gpu 6 xid 48\n");
    return NULL;
}

static void test_events(void)
{
    write_config("event gpu 4 xid 79\n");
    CHECK_RC(p_nvmlInit_v2(), NVML_SUCCESS, "events: init");
    nvmlEventSet_t set;
    unsigned long long types = 0;
    CHECK_RC(p_nvmlEventSetCreate(&set), NVML_SUCCESS, "events: nvmlEventSetCreate");
    check(p_nvmlDeviceGetSupportedEventTypes(handle(4), &types) == NVML_SUCCESS && (types & nvmlEventTypeXidCriticalError),
          "events: Xid supported");
    int ok = 1;
    for (unsigned i = 0; i < 8; i++)
        ok &= p_nvmlDeviceRegisterEvents(handle(i), nvmlEventTypeXidCriticalError, set) == NVML_SUCCESS;
    check(ok, "events: register Xid on 8 GPUs");
    nvmlEventData_t ev;
    memset(&ev, 0, sizeof ev);
    CHECK_RC(p_nvmlEventSetWait_v2(set, &ev, 1000), NVML_SUCCESS, "events: queued Xid delivered");
    check(ev.eventType == nvmlEventTypeXidCriticalError && ev.eventData == 79 && ev.device == handle(4),
          "events: eventType Xid, eventData 79, device GPU 4");
    long long t0 = now_ms();
    CHECK_RC(p_nvmlEventSetWait_v2(set, &ev, 300), NVML_ERROR_TIMEOUT, "events: same line not delivered twice (timeout)");
    long long waited = now_ms() - t0;
    check(waited >= 290 && waited < 1500, "events: wait blocked for its timeout (~300 ms)");

    pthread_t th;
    pthread_create(&th, NULL, inject_later, NULL);
    t0 = now_ms();
    CHECK_RC(p_nvmlEventSetWait_v2(set, &ev, 3000), NVML_SUCCESS, "events: event written during wait is delivered");
    waited = now_ms() - t0;
    pthread_join(th, NULL);
    check(ev.eventData == 48 && ev.device == handle(6) && waited >= 150 && waited < 2000,
          "events: runtime Xid 48 on GPU 6 after ~200 ms");
    CHECK_RC(p_nvmlEventSetWait_v2(set, &ev, 100), NVML_ERROR_TIMEOUT, "events: none left");
    CHECK_RC(p_nvmlEventSetFree(set), NVML_SUCCESS, "events: nvmlEventSetFree");
    p_nvmlShutdown();
}

int main(int argc, char **argv)
{
    if (argc != 3) { fprintf(stderr, "usage: %s LIBRARY WORKDIR\n", argv[0]); return 2; }
    snprintf(config, sizeof config, "%s/nvml-sim.conf", argv[2]);
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 2; }
    int missing = 0;
#define LOAD(name) do { *(void **)&p_##name = dlsym(lib, #name); \
        if (!p_##name) { printf("FAIL symbol %s not exported\n", #name); missing++; } } while (0)
    LOAD(nvmlInit_v2); LOAD(nvmlInitWithFlags); LOAD(nvmlShutdown); LOAD(nvmlErrorString);
    LOAD(nvmlSystemGetDriverVersion); LOAD(nvmlSystemGetCudaDriverVersion); LOAD(nvmlSystemGetCudaDriverVersion_v2);
    LOAD(nvmlDeviceGetCount_v2); LOAD(nvmlDeviceGetHandleByIndex_v2); LOAD(nvmlDeviceGetHandleByUUID);
    LOAD(nvmlDeviceGetUUID); LOAD(nvmlDeviceGetName); LOAD(nvmlDeviceGetSerial); LOAD(nvmlDeviceGetIndex);
    LOAD(nvmlDeviceGetPciInfo_v3); LOAD(nvmlDeviceGetMemoryInfo); LOAD(nvmlDeviceGetUtilizationRates);
    LOAD(nvmlDeviceGetTemperature); LOAD(nvmlDeviceGetPowerUsage); LOAD(nvmlDeviceGetEnforcedPowerLimit);
    LOAD(nvmlDeviceGetTotalEnergyConsumption); LOAD(nvmlDeviceGetEccMode); LOAD(nvmlDeviceGetTotalEccErrors);
    LOAD(nvmlDeviceGetMigMode); LOAD(nvmlDeviceGetTopologyCommonAncestor); LOAD(nvmlDeviceGetP2PStatus);
    LOAD(nvmlDeviceGetComputeRunningProcesses_v3); LOAD(nvmlEventSetCreate); LOAD(nvmlDeviceRegisterEvents);
    LOAD(nvmlDeviceGetSupportedEventTypes); LOAD(nvmlEventSetWait_v2); LOAD(nvmlEventSetFree);
    check(missing == 0, "all 32 symbols resolved with dlsym");
    if (missing) { printf("%d passed, %d failed\n", passed, failed); return 1; }

    test_uninitialized();
    test_default_fleet();
    test_two_gpus();
    test_faults();
    test_events();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
