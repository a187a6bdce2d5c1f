package gpufleet.control.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Set;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The operator's sealing key: 32 random bytes kept in a file outside the database, so that a copy
 * of the database (a dump, a backup, a read-only SQL account) does not reveal what was sealed.
 *
 * <p>Sealed form: {@code version(1) | key id(4) | nonce(12) | AES-256-GCM ciphertext and tag}. The
 * key id lets a rotated control-api open what the previous key sealed; the caller's context (the
 * row and field a value belongs to) is bound as associated data, so a sealed value copied to
 * another row or field does not open there.
 */
public final class SealKey {
    public static final String FILE_VARIABLE = "GPUFLEET_SEAL_KEY_FILE";
    public static final String OLD_FILE_VARIABLE = "GPUFLEET_SEAL_OLD_KEY_FILE";
    public static final String HOW_TO_MAKE = "head -c 32 /dev/urandom | base64 > seal.key; chmod 600 seal.key";

    private static final byte VERSION = 1;
    private static final int ID_BYTES = 4;
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;
    private static final int HEADER = 1 + ID_BYTES + NONCE_BYTES;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Key current;
    private final Key old;

    private SealKey(Key current, Key old) {
        this.current = current;
        this.old = old;
    }

    /** A key of exactly 32 bytes, with an optional old one (null) accepted only for opening. */
    public static SealKey of(byte[] current, byte[] old) {
        return new SealKey(new Key(current), old == null ? null : new Key(old));
    }

    /** Reads the key file (and the old one, when named): base64 of 32 bytes, readable by its owner only. */
    public static SealKey read(Path current, Path old) {
        return of(readKeyFile(FILE_VARIABLE, current), old == null ? null : readKeyFile(OLD_FILE_VARIABLE, old));
    }

    /**
     * Writes a new random key to {@code file} (created, or emptied first), readable by its owner only,
     * and returns the file: what {@link #HOW_TO_MAKE} does, for tests and benchmarks.
     */
    public static Path writeNew(Path file) {
        byte[] key = new byte[32];
        RANDOM.nextBytes(key);
        Set<PosixFilePermission> ownerOnly = EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
        try {
            // The permissions are set before the key is written, so it is never readable by others.
            if (Files.exists(file)) {
                Files.setPosixFilePermissions(file, ownerOnly);
            } else {
                Files.createFile(file, PosixFilePermissions.asFileAttribute(ownerOnly));
            }
            Files.writeString(file, Base64.getEncoder().encodeToString(key) + "\n", StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a sealing key to " + file, e);
        }
        return file;
    }

    /** The current key's id, as hex: what the operator compares after a rotation. */
    public String keyId() {
        return HexFormat.of().formatHex(current.id);
    }

    public byte[] seal(byte[] plain, String context) {
        byte[] out = new byte[HEADER + plain.length + TAG_BITS / 8];
        out[0] = VERSION;
        System.arraycopy(current.id, 0, out, 1, ID_BYTES);
        byte[] nonce = new byte[NONCE_BYTES];
        RANDOM.nextBytes(nonce);
        System.arraycopy(nonce, 0, out, 1 + ID_BYTES, NONCE_BYTES);
        try {
            Cipher gcm = current.cipher(Cipher.ENCRYPT_MODE, nonce, out, context);
            gcm.doFinal(plain, 0, plain.length, out, HEADER);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256-GCM is not available in this Java runtime", e);
        }
        return out;
    }

    /**
     * Opens what {@link #seal} made for the same context, with the current or the old key.
     *
     * @throws SealException when no configured key made it, or it was altered or sealed for another context
     */
    public byte[] open(byte[] sealed, String context) {
        if (sealed.length < HEADER + TAG_BITS / 8 || sealed[0] != VERSION) {
            throw new SealException("sealed value for " + context + " is not in a form this control-api knows");
        }
        Key key = keyFor(Arrays.copyOfRange(sealed, 1, 1 + ID_BYTES), context);
        byte[] nonce = Arrays.copyOfRange(sealed, 1 + ID_BYTES, HEADER);
        try {
            Cipher gcm = key.cipher(Cipher.DECRYPT_MODE, nonce, sealed, context);
            return gcm.doFinal(sealed, HEADER, sealed.length - HEADER);
        } catch (GeneralSecurityException e) {
            throw new SealException("sealed value for " + context + " does not open with key " + key.hexId()
                    + ": it was altered or sealed for another field");
        }
    }

    /** Text form of {@link #seal}, for text and JSON columns. */
    public String sealText(String plain, String context) {
        return Base64.getEncoder().encodeToString(seal(plain.getBytes(StandardCharsets.UTF_8), context));
    }

    public String openText(String sealed, String context) {
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(sealed);
        } catch (IllegalArgumentException e) {
            throw new SealException("sealed value for " + context + " is not base64");
        }
        return new String(open(bytes, context), StandardCharsets.UTF_8);
    }

    /**
     * A 32-byte key for one purpose (e.g. signing stream tickets), derived from the current key with
     * HMAC-SHA256, so that each use has its own key and none is stored in the database.
     */
    public byte[] derive(String purpose) {
        return current.hmac("gpufleet derive " + purpose);
    }

    private Key keyFor(byte[] id, String context) {
        if (Arrays.equals(id, current.id)) {
            return current;
        }
        if (old != null && Arrays.equals(id, old.id)) {
            return old;
        }
        throw new SealException("sealed value for " + context + " was sealed with key " + HexFormat.of().formatHex(id)
                + ", which is neither the current key (" + current.hexId() + ", " + FILE_VARIABLE + ")"
                + (old == null ? "" : " nor the old key (" + old.hexId() + ", " + OLD_FILE_VARIABLE + ")")
                + ": start the control-api with the key that sealed it");
    }

    private static byte[] readKeyFile(String variable, Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(variable + ": " + file + " is not a file; make one with: " + HOW_TO_MAKE);
        }
        String text;
        try {
            if (othersMayRead(file)) {
                throw new IllegalArgumentException(variable + ": " + file
                        + " may be read by other users; make it readable by its owner only: chmod 600 " + file);
            }
            text = Files.readString(file, StandardCharsets.US_ASCII).strip();
        } catch (IOException e) {
            throw new IllegalArgumentException(variable + ": cannot read " + file + ": " + e.getMessage(), e);
        }
        byte[] key;
        try {
            key = Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            key = new byte[0];
        }
        if (key.length != 32) {
            throw new IllegalArgumentException(variable + ": " + file + " is not base64 of 32 bytes; make one with: " + HOW_TO_MAKE);
        }
        return key;
    }

    private static boolean othersMayRead(Path file) throws IOException {
        PosixFileAttributeView posix = Files.getFileAttributeView(file, PosixFileAttributeView.class);
        if (posix == null) {
            return false;  // not a POSIX file system: there are no group or world bits to check
        }
        Set<PosixFilePermission> perms = posix.readAttributes().permissions();
        return perms.stream().anyMatch(p -> p.name().startsWith("GROUP_") || p.name().startsWith("OTHERS_"));
    }

    /** A value that cannot be opened: the wrong key is configured, or the stored value was altered. */
    public static final class SealException extends RuntimeException {
        public SealException(String message) {
            super(message);
        }
    }

    private static final class Key {
        final SecretKeySpec aes;
        final byte[] id;

        Key(byte[] raw) {
            if (raw.length != 32) {
                throw new IllegalArgumentException("a sealing key is 32 bytes, not " + raw.length);
            }
            this.aes = new SecretKeySpec(raw.clone(), "AES");
            // The id is a hash of a derived value, never of the key itself, and short: it only tells keys apart.
            this.id = Arrays.copyOf(sha256(hmac("gpufleet key id")), ID_BYTES);
        }

        String hexId() {
            return HexFormat.of().formatHex(id);
        }

        /** The header (version and key id) is bound along with the context, so neither can be swapped. */
        Cipher cipher(int mode, byte[] nonce, byte[] header, String context) throws GeneralSecurityException {
            Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
            gcm.init(mode, aes, new GCMParameterSpec(TAG_BITS, nonce));
            gcm.updateAAD(header, 0, 1 + ID_BYTES);
            gcm.updateAAD(context.getBytes(StandardCharsets.UTF_8));
            return gcm;
        }

        byte[] hmac(String label) {
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(new SecretKeySpec(aes.getEncoded(), "HmacSHA256"));
                return mac.doFinal(label.getBytes(StandardCharsets.UTF_8));
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("HmacSHA256 is not available in this Java runtime", e);
            }
        }

        private static byte[] sha256(byte[] in) {
            try {
                return MessageDigest.getInstance("SHA-256").digest(in);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("SHA-256 is not available in this Java runtime", e);
            }
        }
    }
}
