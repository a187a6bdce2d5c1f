/* Simulated NVML: event sets and nvmlEventSetWait_v2. */
#define _POSIX_C_SOURCE 200809L
#include "sim_internal.h"

#include <string.h>
#include <time.h>

#define SUPPORTED_EVENTS (nvmlEventTypeSingleBitEccError | nvmlEventTypeDoubleBitEccError \
                          | nvmlEventTypePState | nvmlEventTypeXidCriticalError | nvmlEventTypeClock)

struct nvmlEventSet_st {
    int in_use;
    unsigned long long mask[SIM_MAX_GPUS];
};
static struct nvmlEventSet_st sets[SIM_MAX_SETS];

void sim_free_event_sets(void)
{
    memset(sets, 0, sizeof sets);
}

EXPORT nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set)
{
    nvmlReturn_t rc = sim_enter();
    if (rc != NVML_SUCCESS) return rc;
    if (!set) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    for (unsigned i = 0; i < SIM_MAX_SETS; i++) {
        if (!sets[i].in_use) {
            memset(&sets[i], 0, sizeof sets[i]);
            sets[i].in_use = 1;
            *set = &sets[i];
            return sim_leave(NVML_SUCCESS);
        }
    }
    return sim_leave(NVML_ERROR_INSUFFICIENT_RESOURCES);
}

static int valid_set(nvmlEventSet_t s)
{
    return s && s >= sets && s < sets + SIM_MAX_SETS && s->in_use;
}

EXPORT nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t device, unsigned long long *eventTypes)
{
    nvmlReturn_t rc = sim_enter_dev(device, F_EVENTS);
    if (rc != NVML_SUCCESS) return rc;
    if (!eventTypes) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    *eventTypes = SUPPORTED_EVENTS;
    if (!device->ecc) *eventTypes &= ~(nvmlEventTypeSingleBitEccError | nvmlEventTypeDoubleBitEccError);
    return sim_leave(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t device, unsigned long long eventTypes, nvmlEventSet_t set)
{
    unsigned long long supported;
    nvmlReturn_t rc = nvmlDeviceGetSupportedEventTypes(device, &supported);
    if (rc != NVML_SUCCESS) return rc;
    rc = sim_enter_dev(device, F_EVENTS);
    if (rc != NVML_SUCCESS) return rc;
    if (!valid_set(set)) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    if (eventTypes & ~supported) return sim_leave(NVML_ERROR_NOT_SUPPORTED);
    set->mask[device->index] |= eventTypes;
    return sim_leave(NVML_SUCCESS);
}

/* Deliver the first queued, undelivered event this set listens to. */
static int take_event(nvmlEventSet_t set, nvmlEventData_t *data)
{
    for (unsigned i = 0; i < sim.nevents; i++) {
        struct sim_event *e = &sim.events[i];
        if (e->gpu >= sim.count || !(set->mask[e->gpu] & e->type) || sim_event_delivered(e->key)) continue;
        sim_event_mark_delivered(e->key);
        memset(data, 0, sizeof *data);
        data->device = &sim.gpus[e->gpu];
        data->eventType = e->type;
        data->eventData = e->data;
        data->gpuInstanceId = 0xFFFFFFFFu;
        data->computeInstanceId = 0xFFFFFFFFu;
        return 1;
    }
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

EXPORT nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms)
{
    long long deadline = now_ms() + timeoutms;
    for (;;) {
        nvmlReturn_t rc = sim_enter(); /* re-reads the config when it changed */
        if (rc != NVML_SUCCESS) return rc;
        if (!valid_set(set) || !data) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
        if (take_event(set, data)) return sim_leave(NVML_SUCCESS);
        pthread_mutex_unlock(&sim_lock);
        long long left = deadline - now_ms();
        if (left <= 0) return NVML_ERROR_TIMEOUT;
        long long step = left < 50 ? left : 50;
        struct timespec ts = { (time_t)(step / 1000), (long)(step % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
}

EXPORT nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set)
{
    nvmlReturn_t rc = sim_enter();
    if (rc != NVML_SUCCESS) return rc;
    if (!valid_set(set)) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    set->in_use = 0;
    return sim_leave(NVML_SUCCESS);
}
