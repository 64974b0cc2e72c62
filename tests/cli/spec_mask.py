"""Mask stream v1 (docs/SPEC.md sections 2 and 3), written from the spec alone.

An independent implementation in pure Python (standard library only) that the
CLI tests compare `dropout mask` against.  It shares no code with the C
library: if both agree on random inputs, both follow the spec.
"""

M0, M1 = 0xD2511F53, 0xCD9E8D57  # Philox4x32 multipliers
W0, W1 = 0x9E3779B9, 0xBB67AE85  # Weyl key increments
TIE_KEY_XOR = 0x243F6A88
MASK32 = 0xFFFFFFFF


def philox4x32_10(counter, key):
    """Random123 Philox4x32 with 10 rounds: 4 counter words, 2 key words."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for _ in range(10):
        p0 = M0 * c0
        p1 = M1 * c2
        hi0, lo0 = p0 >> 32, p0 & MASK32
        hi1, lo1 = p1 >> 32, p1 & MASK32
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0 = (k0 + W0) & MASK32
        k1 = (k1 + W1) & MASK32
    return [c0, c1, c2, c3]


def threshold(p):
    """T = (uint64_t)((1.0 - p) * 2^32 + 0.5), in IEEE double like the spec."""
    return int((1.0 - p) * 4294967296.0 + 0.5)


def lo(v):
    return v & MASK32


def hi(v):
    return (v >> 32) & MASK32


def keep_bits(seed, stream, first, count, p):
    """Keep bits (list of 0/1) of elements first ... first + count - 1."""
    t = threshold(p)
    if t == 1 << 32:
        return [1] * count
    if t == 0:
        return [0] * count
    t0, tlow = t >> 24, t & 0xFFFFFF
    key = (lo(seed), hi(seed))
    tie_key = (lo(seed) ^ TIE_KEY_XOR, hi(seed))
    bits = []
    block_cache = {}
    for i in range(first, first + count):
        j = i // 16
        if j not in block_cache:
            words = philox4x32_10((lo(j), hi(j), lo(stream), hi(stream)), key)
            block_cache = {j: bytes(b for w in words for b in w.to_bytes(4, "little"))}
        r = block_cache[j][i % 16]
        if r < t0:
            keep = 1
        elif r > t0:
            keep = 0
        elif tlow == 0:
            keep = 0
        else:
            v = philox4x32_10((lo(i), hi(i), lo(stream), hi(stream)), tie_key)[0] & 0xFFFFFF
            keep = 1 if v < tlow else 0
        bits.append(keep)
    return bits


def pack(bits):
    """Section 3: bit k of byte k // 8, least significant first."""
    out = bytearray((len(bits) + 7) // 8)
    for k, b in enumerate(bits):
        out[k // 8] |= b << (k % 8)
    return bytes(out)


def mask_hex(seed, stream, first, count, p):
    return pack(keep_bits(seed, stream, first, count, p)).hex()


if __name__ == "__main__":
    # Random123's published vector: counter 0,0,0,0 and key 0,0.
    assert philox4x32_10((0, 0, 0, 0), (0, 0)) == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]
    print(mask_hex(0, 0, 0, 64, 0.5))
