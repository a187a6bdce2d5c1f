package gpufleet.control.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The operator's sealing key: what it seals opens only with that key, unaltered, for the same field. */
class SealKeyTest {
    static final String FIELD = "workload 0b8e/secret env main.API_KEY";
    static final byte[] VALUE = "s3cr3t-value".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    static byte[] randomKey() {
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        return k;
    }

    @Test
    void aSealedValueOpensForItsFieldAndHidesTheValue() {
        SealKey key = SealKey.of(randomKey(), null);
        byte[] sealed = key.seal(VALUE, FIELD);
        assertThat(new String(sealed, StandardCharsets.ISO_8859_1)).doesNotContain("s3cr3t");
        assertThat(key.open(sealed, FIELD)).isEqualTo(VALUE);
        // A fresh nonce each time: equal values do not give equal sealed forms.
        assertThat(key.seal(VALUE, FIELD)).isNotEqualTo(sealed);
    }

    @Test
    void anAlteredValueDoesNotOpen() {
        SealKey key = SealKey.of(randomKey(), null);
        byte[] sealed = key.seal(VALUE, FIELD);
        sealed[sealed.length - 20] ^= 1;
        assertThatThrownBy(() -> key.open(sealed, FIELD))
                .isInstanceOf(SealKey.SealException.class)
                .hasMessageContaining("it was altered or sealed for another field");
    }

    @Test
    void aValueMovedToAnotherFieldDoesNotOpen() {
        SealKey key = SealKey.of(randomKey(), null);
        String sealed = key.sealText("s3cr3t-value", FIELD);
        assertThatThrownBy(() -> key.openText(sealed, "workload 0b8e/secret env main.OTHER"))
                .isInstanceOf(SealKey.SealException.class)
                .hasMessageContaining("does not open with key " + key.keyId());
    }

    @Test
    void anotherKeyRefusesAndNamesBothKeys() {
        SealKey mine = SealKey.of(randomKey(), null);
        SealKey other = SealKey.of(randomKey(), null);
        byte[] sealed = mine.seal(VALUE, FIELD);
        assertThatThrownBy(() -> other.open(sealed, FIELD))
                .isInstanceOf(SealKey.SealException.class)
                .hasMessageContaining("was sealed with key " + mine.keyId())
                .hasMessageContaining("neither the current key (" + other.keyId() + ", GPUFLEET_SEAL_KEY_FILE)");
    }

    @Test
    void afterRotationTheOldKeyStillOpensAndNewValuesUseTheNewKey() {
        byte[] oldRaw = randomKey();
        SealKey before = SealKey.of(oldRaw, null);
        byte[] sealedBefore = before.seal(VALUE, FIELD);
        SealKey rotated = SealKey.of(randomKey(), oldRaw);
        assertThat(rotated.open(sealedBefore, FIELD)).isEqualTo(VALUE);
        byte[] sealedAfter = rotated.seal(VALUE, FIELD);
        // The old key alone cannot open what the new one sealed: new values do not depend on it.
        assertThatThrownBy(() -> before.open(sealedAfter, FIELD)).isInstanceOf(SealKey.SealException.class);
        assertThat(rotated.keyId()).isNotEqualTo(before.keyId());
    }

    @Test
    void derivedKeysDifferByPurposeAndAreNotTheKey() {
        byte[] raw = randomKey();
        SealKey key = SealKey.of(raw, null);
        assertThat(key.derive("stream tickets")).hasSize(32).isNotEqualTo(raw)
                .isEqualTo(SealKey.of(raw, null).derive("stream tickets"))
                .isNotEqualTo(key.derive("something else"));
    }

    @Test
    void aKeyFileReadableByOthersIsRefused() throws IOException {
        Path file = SealKey.writeNew(dir.resolve("seal.key"));
        assertThat(SealKey.read(file, null).keyId()).hasSize(8);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));
        assertThatThrownBy(() -> SealKey.read(file, null))
                .hasMessage("GPUFLEET_SEAL_KEY_FILE: " + file + " may be read by other users; make it readable by its owner only: chmod 600 " + file);
    }

    @Test
    void aKeyFileThatIsNotThirtyTwoBytesIsRefusedWithHowToMakeOne() throws IOException {
        Path file = Files.writeString(dir.resolve("short.key"), "c2hvcnQ=\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        assertThatThrownBy(() -> SealKey.read(SealKey.writeNew(dir.resolve("ok.key")), file))
                .hasMessageContaining("GPUFLEET_SEAL_OLD_KEY_FILE: " + file + " is not base64 of 32 bytes")
                .hasMessageContaining("head -c 32 /dev/urandom | base64 > seal.key; chmod 600 seal.key");
    }
}
