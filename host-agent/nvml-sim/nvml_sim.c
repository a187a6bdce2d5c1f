/* Simulated NVML: the exported API. Signatures come from the real nvml.h,
 * so the compiler checks them against NVIDIA's ABI. */
#define _POSIX_C_SOURCE 200809L
#include "sim_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>



/* Lock, refresh faults from the config file and check initialization. */
nvmlReturn_t sim_enter(void)
{
    pthread_mutex_lock(&sim_lock);
    if (!sim_initialized) {
        pthread_mutex_unlock(&sim_lock);
        return NVML_ERROR_UNINITIALIZED;
    }
    sim_refresh();
    return NVML_SUCCESS;
}

nvmlReturn_t sim_leave(nvmlReturn_t rc)
{
    pthread_mutex_unlock(&sim_lock);
    return rc;
}

static int valid_handle(nvmlDevice_t d)
{
    return d && d >= sim.gpus && d < sim.gpus + sim.count;
}

/* Lock + common checks for a call on a device handle; field is an
 * enum sim_field bit (0: none). On error the lock is already released. */
nvmlReturn_t sim_enter_dev(nvmlDevice_t d, unsigned field)
{
    nvmlReturn_t rc = sim_enter();
    if (rc != NVML_SUCCESS) return rc;
    if (!valid_handle(d)) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    if (sim.faults.lost[d->index]) return sim_leave(NVML_ERROR_GPU_IS_LOST);
    if (sim.faults.no_permission[d->index]) return sim_leave(NVML_ERROR_NO_PERMISSION);
    if (field && (sim.faults.not_supported[d->index] & field)) return sim_leave(NVML_ERROR_NOT_SUPPORTED);
    return NVML_SUCCESS;
}

/* Copy a string into a caller buffer as NVML does. */
static nvmlReturn_t copy_str(char *dst, unsigned length, const char *src)
{
    if (!dst) return NVML_ERROR_INVALID_ARGUMENT;
    if (strlen(src) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(dst, src, strlen(src) + 1);
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlInitWithFlags(unsigned int flags)
{
    (void)flags;
    pthread_mutex_lock(&sim_lock);
    if (sim_load() != 0) return sim_leave(NVML_ERROR_UNKNOWN);
    if (sim.faults.driver_not_loaded) return sim_leave(NVML_ERROR_DRIVER_NOT_LOADED);
    sim_initialized++;
    return sim_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlInit_v2(void) { return nvmlInitWithFlags(0); }

EXPORT nvmlReturn_t nvmlShutdown(void)
{
    pthread_mutex_lock(&sim_lock);
    if (!sim_initialized) return sim_leave(NVML_ERROR_UNINITIALIZED);
    if (--sim_initialized == 0) sim_free_event_sets();
    return sim_leave(NVML_SUCCESS);
}

EXPORT const char *nvmlErrorString(nvmlReturn_t result)
{
    switch (result) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
    case NVML_ERROR_ALREADY_INITIALIZED: return "Already Initialized";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_INSUFFICIENT_POWER: return "Insufficient External Power";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_TIMEOUT: return "Timeout";
    case NVML_ERROR_IRQ_ISSUE: return "Interrupt request issue";
    case NVML_ERROR_LIBRARY_NOT_FOUND: return "NVML Shared Library Not Found";
    case NVML_ERROR_FUNCTION_NOT_FOUND: return "Function Not Found";
    case NVML_ERROR_CORRUPTED_INFOROM: return "Corrupted infoROM";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    case NVML_ERROR_RESET_REQUIRED: return "GPU requires restart";
    case NVML_ERROR_OPERATING_SYSTEM: return "The operating system has blocked the request.";
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH: return "RM has detected an NVML/RM version mismatch.";
    case NVML_ERROR_IN_USE: return "In use by another client";
    case NVML_ERROR_MEMORY: return "Insufficient Memory";
    case NVML_ERROR_NO_DATA: return "No data";
    case NVML_ERROR_VGPU_ECC_NOT_SUPPORTED: return "The requested vgpu operation is not available on target device, because ECC is enabled";
    case NVML_ERROR_INSUFFICIENT_RESOURCES: return "Insufficient resources";
    case NVML_ERROR_FREQ_NOT_SUPPORTED: return "Frequency not supported";
    case NVML_ERROR_ARGUMENT_VERSION_MISMATCH: return "Argument version mismatch";
    case NVML_ERROR_UNKNOWN: return "Unknown Error";
    default: return "Unknown Error";
    }
}

EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
    nvmlReturn_t rc = sim_enter();
    if (rc != NVML_SUCCESS) return rc;
    return sim_leave(copy_str(version, length, sim.driver));
}

EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *cudaDriverVersion)
{
    nvmlReturn_t rc = sim_enter();
    if (rc != NVML_SUCCESS) return rc;
    if (!cudaDriverVersion) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    *cudaDriverVersion = sim.cuda;
    return sim_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *cudaDriverVersion)
{
    return nvmlSystemGetCudaDriverVersion(cudaDriverVersion);
}

EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount)
{
    nvmlReturn_t rc = sim_enter();
    if (rc != NVML_SUCCESS) return rc;
    if (!deviceCount) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    *deviceCount = sim.count;
    return sim_leave(NVML_SUCCESS);
}

/* Handle acquisition fails for lost GPUs and GPUs without permission. */
static nvmlReturn_t hand_out(unsigned i, nvmlDevice_t *device)
{
    if (sim.faults.lost[i]) return NVML_ERROR_GPU_IS_LOST;
    if (sim.faults.no_permission[i]) return NVML_ERROR_NO_PERMISSION;
    *device = &sim.gpus[i];
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    nvmlReturn_t rc = sim_enter();
    if (rc != NVML_SUCCESS) return rc;
    if (!device || index >= sim.count) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    return sim_leave(hand_out(index, device));
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *device)
{
    nvmlReturn_t rc = sim_enter();
    if (rc != NVML_SUCCESS) return rc;
    if (!uuid || !device) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    for (unsigned i = 0; i < sim.count; i++)
        if (!strcmp(sim.gpus[i].uuid, uuid)) return sim_leave(hand_out(i, device));
    return sim_leave(NVML_ERROR_NOT_FOUND);
}

/* MIG devices are handles of their own; they answer only nvmlDeviceGetUUID here. */
static struct nvmlDevice_st migs[SIM_MAX_GPUS][SIM_MAX_MIG];

static int is_mig(nvmlDevice_t d)
{
    return d >= &migs[0][0] && d < &migs[0][0] + SIM_MAX_GPUS * SIM_MAX_MIG;
}

EXPORT nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int *count)
{
    nvmlReturn_t rc = sim_enter_dev(device, F_MIG);
    if (rc != NVML_SUCCESS) return rc;
    if (!count) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    *count = SIM_MAX_MIG;
    return sim_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index, nvmlDevice_t *migDevice)
{
    nvmlReturn_t rc = sim_enter_dev(device, F_MIG);
    if (rc != NVML_SUCCESS) return rc;
    if (!migDevice || index >= SIM_MAX_MIG) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    if (!device->mig || index >= device->mig_devices) return sim_leave(NVML_ERROR_NOT_FOUND);
    struct nvmlDevice_st *m = &migs[device->index][index];
    memset(m, 0, sizeof(*m));
    m->index = index;
    snprintf(m->uuid, sizeof(m->uuid), "MIG-%s-%u", device->uuid + 4, index);
    *migDevice = m;
    return sim_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length)
{
    if (is_mig(device)) {
        nvmlReturn_t rc = sim_enter();
        if (rc != NVML_SUCCESS) return rc;
        return sim_leave(copy_str(uuid, length, device->uuid));
    }
    nvmlReturn_t rc = sim_enter_dev(device, 0);
    if (rc != NVML_SUCCESS) return rc;
    return sim_leave(copy_str(uuid, length, device->uuid));
}

EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
    nvmlReturn_t rc = sim_enter_dev(device, 0);
    if (rc != NVML_SUCCESS) return rc;
    return sim_leave(copy_str(name, length, device->name));
}

EXPORT nvmlReturn_t nvmlDeviceGetSerial(nvmlDevice_t device, char *serial, unsigned int length)
{
    nvmlReturn_t rc = sim_enter_dev(device, F_SERIAL);
    if (rc != NVML_SUCCESS) return rc;
    return sim_leave(copy_str(serial, length, device->serial));
}

EXPORT nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int *index)
{
    nvmlReturn_t rc = sim_enter_dev(device, 0);
    if (rc != NVML_SUCCESS) return rc;
    if (!index) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    *index = device->index;
    return sim_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
    nvmlReturn_t rc = sim_enter_dev(device, F_PCI);
    if (rc != NVML_SUCCESS) return rc;
    if (!pci) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    memset(pci, 0, sizeof *pci);
    snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, NVML_DEVICE_PCI_BUS_ID_LEGACY_FMT,
             device->domain & 0xFFFF, device->bus, device->device);
    snprintf(pci->busId, sizeof pci->busId, "%s", device->pci);
    pci->domain = device->domain;
    pci->bus = device->bus;
    pci->device = device->device;
    pci->pciDeviceId = device->pci_device_id;
    pci->pciSubSystemId = device->pci_subsystem_id;
    return sim_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory)
{
    nvmlReturn_t rc = sim_enter_dev(device, F_MEMORY);
    if (rc != NVML_SUCCESS) return rc;
    if (!memory) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    unsigned long long used = 0;
    for (unsigned i = 0; i < sim.nprocs; i++)
        if (sim.procs[i].gpu == device->index) used += sim.procs[i].mem;
    used += device->mem_used;
    if (used > device->mem_total) used = device->mem_total;
    memory->total = device->mem_total;
    memory->used = used;
    memory->free = device->mem_total - used;
    return sim_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization)
{
    nvmlReturn_t rc = sim_enter_dev(device, F_UTIL);
    if (rc != NVML_SUCCESS) return rc;
    if (!utilization) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    utilization->gpu = device->util_gpu;
    utilization->memory = device->util_mem;
    return sim_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, nvmlTemperatureSensors_t sensorType, unsigned int *temp)
{
    nvmlReturn_t rc = sim_enter_dev(device, F_TEMP);
    if (rc != NVML_SUCCESS) return rc;
    if (!temp || sensorType != NVML_TEMPERATURE_GPU) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    *temp = device->temp;
    return sim_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power)
{
    nvmlReturn_t rc = sim_enter_dev(device, F_POWER);
    if (rc != NVML_SUCCESS) return rc;
    if (!power) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    *power = device->power_mw;
    return sim_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int *limit)
{
    nvmlReturn_t rc = sim_enter_dev(device, F_POWER);
    if (rc != NVML_SUCCESS) return rc;
    if (!limit) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    *limit = device->power_limit_mw;
    return sim_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *energy)
{
    nvmlReturn_t rc = sim_enter_dev(device, F_ENERGY);
    if (rc != NVML_SUCCESS) return rc;
    if (!energy) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    *energy = device->energy_mj;
    return sim_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetEccMode(nvmlDevice_t device, nvmlEnableState_t *current, nvmlEnableState_t *pending)
{
    nvmlReturn_t rc = sim_enter_dev(device, F_ECC);
    if (rc != NVML_SUCCESS) return rc;
    if (!current || !pending) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    *current = *pending = device->ecc ? NVML_FEATURE_ENABLED : NVML_FEATURE_DISABLED;
    return sim_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t device, nvmlMemoryErrorType_t errorType,
                                                nvmlEccCounterType_t counterType, unsigned long long *eccCounts)
{
    nvmlReturn_t rc = sim_enter_dev(device, F_ECC);
    if (rc != NVML_SUCCESS) return rc;
    if (!eccCounts || errorType >= NVML_MEMORY_ERROR_TYPE_COUNT || counterType >= NVML_ECC_COUNTER_TYPE_COUNT)
        return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    if (!device->ecc) return sim_leave(NVML_ERROR_NOT_SUPPORTED); /* counters need ECC mode on */
    *eccCounts = errorType == NVML_MEMORY_ERROR_TYPE_UNCORRECTED ? device->ecc_dbe : device->ecc_sbe;
    return sim_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode, unsigned int *pendingMode)
{
    nvmlReturn_t rc = sim_enter_dev(device, F_MIG);
    if (rc != NVML_SUCCESS) return rc;
    if (!currentMode || !pendingMode) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    *currentMode = *pendingMode = device->mig ? NVML_DEVICE_MIG_ENABLE : NVML_DEVICE_MIG_DISABLE;
    return sim_leave(NVML_SUCCESS);
}

static nvmlReturn_t enter_pair(nvmlDevice_t a, nvmlDevice_t b)
{
    nvmlReturn_t rc = sim_enter_dev(a, F_TOPOLOGY);
    if (rc != NVML_SUCCESS) return rc;
    pthread_mutex_unlock(&sim_lock);
    return sim_enter_dev(b, F_TOPOLOGY);
}

EXPORT nvmlReturn_t nvmlDeviceGetTopologyCommonAncestor(nvmlDevice_t device1, nvmlDevice_t device2,
                                                        nvmlGpuTopologyLevel_t *pathInfo)
{
    nvmlReturn_t rc = enter_pair(device1, device2);
    if (rc != NVML_SUCCESS) return rc;
    if (!pathInfo) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    unsigned i = device1->index, j = device2->index;
    int level = sim.topo[i][j];
    if (i == j) level = NVML_TOPOLOGY_INTERNAL;
    else if (level < 0) level = device1->numa == device2->numa ? NVML_TOPOLOGY_NODE : NVML_TOPOLOGY_SYSTEM;
    *pathInfo = (nvmlGpuTopologyLevel_t)level;
    return sim_leave(NVML_SUCCESS);
}

/* Not in the brief's list: nvmlGpuTopologyLevel_t has no NVLink level, so
 * NVLink pairs are reported the way real NVML does, via P2P status. */
EXPORT nvmlReturn_t nvmlDeviceGetP2PStatus(nvmlDevice_t device1, nvmlDevice_t device2,
                                           nvmlGpuP2PCapsIndex_t p2pIndex, nvmlGpuP2PStatus_t *p2pStatus)
{
    nvmlReturn_t rc = enter_pair(device1, device2);
    if (rc != NVML_SUCCESS) return rc;
    if (!p2pStatus || p2pIndex >= NVML_P2P_CAPS_INDEX_UNKNOWN) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    int nvlinked = sim.nvlink[device1->index][device2->index];
    if (p2pIndex == NVML_P2P_CAPS_INDEX_NVLINK)
        *p2pStatus = nvlinked ? NVML_P2P_STATUS_OK : NVML_P2P_STATUS_NOT_SUPPORTED;
    else
        *p2pStatus = (nvlinked || device1->numa == device2->numa) ? NVML_P2P_STATUS_OK
                                                                : NVML_P2P_STATUS_IOH_TOPOLOGY_NOT_SUPPORTED;
    return sim_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount,
                                                            nvmlProcessInfo_t *infos)
{
    nvmlReturn_t rc = sim_enter_dev(device, F_PROCESSES);
    if (rc != NVML_SUCCESS) return rc;
    if (!infoCount) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    unsigned n = 0;
    for (unsigned i = 0; i < sim.nprocs; i++)
        if (sim.procs[i].gpu == device->index) n++;
    if (*infoCount < n || (n > 0 && !infos)) {
        *infoCount = n;
        return sim_leave(n == 0 ? NVML_SUCCESS : NVML_ERROR_INSUFFICIENT_SIZE);
    }
    unsigned k = 0;
    for (unsigned i = 0; i < sim.nprocs; i++) {
        if (sim.procs[i].gpu != device->index) continue;
        memset(&infos[k], 0, sizeof infos[k]);
        infos[k].pid = sim.procs[i].pid;
        infos[k].usedGpuMemory = sim.procs[i].mem;
        infos[k].gpuInstanceId = 0xFFFFFFFFu;
        infos[k].computeInstanceId = 0xFFFFFFFFu;
        k++;
    }
    *infoCount = n;
    return sim_leave(NVML_SUCCESS);
}

/* NUMA affinity of the GPU's memory: one bit per node, as NVML fills nodeSet. */
EXPORT nvmlReturn_t nvmlDeviceGetMemoryAffinity(nvmlDevice_t device, unsigned int nodeSetSize, unsigned long *nodeSet,
                                                nvmlAffinityScope_t scope)
{
    nvmlReturn_t rc = sim_enter_dev(device, F_NUMA);
    if (rc != NVML_SUCCESS) return rc;
    if (!nodeSet || nodeSetSize == 0 || scope != NVML_AFFINITY_SCOPE_NODE) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    memset(nodeSet, 0, nodeSetSize * sizeof(unsigned long));
    if (device->numa >= 0 && (unsigned)device->numa < nodeSetSize * 8 * sizeof(unsigned long))
        nodeSet[device->numa / (8 * sizeof(unsigned long))] = 1UL << (device->numa % (8 * sizeof(unsigned long)));
    return sim_leave(NVML_SUCCESS);
}

/* Row remapping: uncorrectable remapped rows follow the double-bit ECC count. */
EXPORT nvmlReturn_t nvmlDeviceGetRemappedRows(nvmlDevice_t device, unsigned int *corrRows, unsigned int *uncRows,
                                              unsigned int *isPending, unsigned int *failureOccurred)
{
    nvmlReturn_t rc = sim_enter_dev(device, F_ECC);
    if (rc != NVML_SUCCESS) return rc;
    if (!corrRows || !uncRows || !isPending || !failureOccurred) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    *corrRows = (unsigned)device->ecc_sbe;
    *uncRows = (unsigned)device->ecc_dbe;
    *isPending = device->ecc_dbe > 0;
    *failureOccurred = 0;
    return sim_leave(NVML_SUCCESS);
}
