package gpufleet.host.images;

import java.time.Duration;

/**
 * When images are collected, as the kubelet's image garbage collection: at or above
 * {@code highPercent} of the disk used, unused images are removed, least recently used first,
 * until use is below {@code lowPercent}; an image first seen less than {@code minimumAge} ago is
 * kept. A high threshold of 100 turns collection off. Checked every {@code interval}.
 */
public record ImageGcPolicy(int highPercent, int lowPercent, Duration minimumAge, Duration interval) {
    public ImageGcPolicy {
        if (lowPercent < 0 || highPercent > 100 || lowPercent >= highPercent) {
            throw new IllegalArgumentException("the image garbage collection thresholds must satisfy 0 <= low < high <= 100;"
                    + " got low " + lowPercent + ", high " + highPercent);
        }
    }

    public boolean enabled() {
        return highPercent < 100;
    }
}
