/* Shared state of the simulated NVML library (not part of the NVML ABI). */
#ifndef GPUFLEET_NVML_SIM_INTERNAL_H
#define GPUFLEET_NVML_SIM_INTERNAL_H

#include <nvml.h>
#include <pthread.h>
#include <sys/types.h>
#include <time.h>

#define SIM_MAX_GPUS 64
#define SIM_MAX_MIG 7
#define SIM_MAX_PROCS 256
#define SIM_MAX_EVENTS 256
#define SIM_MAX_SETS 64
#define SIM_LINE_MAX 1024

/* Fields a `fault gpu N not_supported FIELD` line can disable (bit flags). */
enum sim_field {
    F_POWER = 1 << 0, F_ENERGY = 1 << 1, F_TEMP = 1 << 2, F_UTIL = 1 << 3,
    F_ECC = 1 << 4, F_MIG = 1 << 5, F_NUMA = 1 << 6, F_SERIAL = 1 << 7,
    F_PROCESSES = 1 << 8, F_MEMORY = 1 << 9, F_PCI = 1 << 10,
    F_TOPOLOGY = 1 << 11, F_EVENTS = 1 << 12
};

/* The opaque nvmlDevice_t of nvml.h points at one of these. Handles stay
 * valid for the life of the process: reloading rewrites them in place. */
struct nvmlDevice_st {
    unsigned index;
    char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
    char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
    char serial[NVML_DEVICE_SERIAL_BUFFER_SIZE];
    char pci[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE];
    unsigned domain, bus, device, pci_device_id, pci_subsystem_id;
    int numa;
    unsigned long long mem_total, mem_used;
    unsigned util_gpu, util_mem, temp, power_mw, power_limit_mw;
    unsigned long long energy_mj;
    int ecc, mig;
    unsigned mig_devices; /* MIG devices carved out when mig=1 */
    unsigned long long ecc_sbe, ecc_dbe;
};

struct sim_proc { unsigned gpu; unsigned pid; unsigned long long mem; };

/* One `event` line. key = text + ordinal among identical lines, so a line
 * is delivered once and appending the same text again queues a new event. */
struct sim_event {
    char key[SIM_LINE_MAX + 16];
    unsigned gpu;
    unsigned long long type, data;
};

/* Faults, re-read whenever the config file changes. */
struct sim_faults {
    int driver_not_loaded;
    unsigned char lost[SIM_MAX_GPUS];
    unsigned char no_permission[SIM_MAX_GPUS];
    unsigned not_supported[SIM_MAX_GPUS]; /* enum sim_field bits */
};

struct sim_state {
    char driver[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE];
    int cuda;
    unsigned count;
    struct nvmlDevice_st gpus[SIM_MAX_GPUS];
    /* Explicit topology (-1 = derive from NUMA) and NVLink pairs. */
    int topo[SIM_MAX_GPUS][SIM_MAX_GPUS];
    unsigned char nvlink[SIM_MAX_GPUS][SIM_MAX_GPUS];
    unsigned nprocs;
    struct sim_proc procs[SIM_MAX_PROCS];
    struct sim_faults faults;
    unsigned nevents;
    struct sim_event events[SIM_MAX_EVENTS];
};

/* Global state, guarded by sim_lock. */
extern pthread_mutex_t sim_lock;
extern struct sim_state sim;
extern int sim_initialized; /* init reference count */

/* sim_config.c: load everything (nvmlInit); 0 ok, -1 error (message on
 * stderr). Called with sim_lock held. */
int sim_load(void);
/* Re-read faults and events when the config file changed (any call). */
void sim_refresh(void);
/* Whether an event key was already delivered (process lifetime). */
int sim_event_delivered(const char *key);
void sim_event_mark_delivered(const char *key);

/* nvml_sim.c: call prologue/epilogue shared by the API files. sim_enter
 * locks, re-reads faults and checks init; sim_enter_dev also checks the
 * handle and the GPU's faults for a field (enum sim_field bit, 0: none).
 * On error they return with the lock released; sim_leave unlocks. */
#define EXPORT __attribute__((visibility("default")))
nvmlReturn_t sim_enter(void);
nvmlReturn_t sim_enter_dev(nvmlDevice_t d, unsigned field);
nvmlReturn_t sim_leave(nvmlReturn_t rc);
/* sim_events.c: drop all event sets (last nvmlShutdown). */
void sim_free_event_sets(void);

#endif
