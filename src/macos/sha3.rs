//! SHA3-512 (FIPS 202), the hash Jamf Pro's package records carry (`hashType: SHA3_512`, as
//! JamfUploader computes it). Written from the standard; the crate has no sha3 dependency.

use std::io::Read;

const RATE: usize = 72; // bytes: (1600 - 2 * 512) / 8

const RC: [u64; 24] = [
    0x0000000000000001,
    0x0000000000008082,
    0x800000000000808a,
    0x8000000080008000,
    0x000000000000808b,
    0x0000000080000001,
    0x8000000080008081,
    0x8000000000008009,
    0x000000000000008a,
    0x0000000000000088,
    0x0000000080008009,
    0x000000008000000a,
    0x000000008000808b,
    0x800000000000008b,
    0x8000000000008089,
    0x8000000000008003,
    0x8000000000008002,
    0x8000000000000080,
    0x000000000000800a,
    0x800000008000000a,
    0x8000000080008081,
    0x8000000000008080,
    0x0000000080000001,
    0x8000000080008008,
];

/// Rotation offsets, indexed by lane x + 5y.
const ROT: [u32; 25] = [
    0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14,
];

fn keccak_f(a: &mut [u64; 25]) {
    for rc in RC {
        // theta
        let mut c = [0u64; 5];
        for (x, cx) in c.iter_mut().enumerate() {
            *cx = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        }
        for x in 0..5 {
            let d = c[(x + 4) % 5] ^ c[(x + 1) % 5].rotate_left(1);
            for y in 0..5 {
                a[x + 5 * y] ^= d;
            }
        }
        // rho and pi: B[y, 2x + 3y] = rot(A[x, y])
        let mut b = [0u64; 25];
        for x in 0..5 {
            for y in 0..5 {
                b[y + 5 * ((2 * x + 3 * y) % 5)] = a[x + 5 * y].rotate_left(ROT[x + 5 * y]);
            }
        }
        // chi
        for y in 0..5 {
            for x in 0..5 {
                a[x + 5 * y] = b[x + 5 * y] ^ (!b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
            }
        }
        // iota
        a[0] ^= rc;
    }
}

/// Incremental SHA3-512.
pub struct Sha3_512 {
    state: [u64; 25],
    buf: [u8; RATE],
    len: usize,
}

impl Default for Sha3_512 {
    fn default() -> Self {
        Sha3_512 {
            state: [0; 25],
            buf: [0; RATE],
            len: 0,
        }
    }
}

impl Sha3_512 {
    fn absorb_block(&mut self) {
        for (lane, chunk) in self.state.iter_mut().zip(self.buf.chunks_exact(8)) {
            *lane ^= u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        }
        keccak_f(&mut self.state);
        self.len = 0;
    }

    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let n = (RATE - self.len).min(data.len());
            self.buf[self.len..self.len + n].copy_from_slice(&data[..n]);
            self.len += n;
            data = &data[n..];
            if self.len == RATE {
                self.absorb_block();
            }
        }
    }

    /// The digest as lowercase hex.
    pub fn finish_hex(mut self) -> String {
        self.buf[self.len..].fill(0);
        self.buf[self.len] ^= 0x06; // SHA-3 domain bits + first pad bit
        self.buf[RATE - 1] ^= 0x80;
        self.absorb_block();
        let bytes: Vec<u8> = self.state[..8]
            .iter()
            .flat_map(|l| l.to_le_bytes())
            .collect();
        crate::build::hex(&bytes)
    }
}

pub fn sha3_512_hex(data: &[u8]) -> String {
    let mut h = Sha3_512::default();
    h.update(data);
    h.finish_hex()
}

/// Stream a reader through SHA3-512.
pub fn sha3_512_reader(mut r: impl Read) -> std::io::Result<String> {
    let mut h = Sha3_512::default();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(h.finish_hex()),
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fips_202_vectors() {
        assert_eq!(
            sha3_512_hex(b""),
            "a69f73cca23a9ac5c8b567dc185a756e97c982164fe25859e0d1dcc1475c80a6\
             15b2123af1f5f94c11e3e9402c3ac558f500199d95b6d3e301758586281dcd26"
        );
        assert_eq!(
            sha3_512_hex(b"abc"),
            "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e\
             10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0"
        );
        // Block-boundary lengths (digests from Python's hashlib), streamed in odd pieces.
        let want = [
            (
                71,
                "047d8a48fbff64bb687ccdc833c613c54b6ef7f212e26d28ef698b00f2fde36a",
            ),
            (
                72,
                "4eccf285566cceba90a6459e0dc328e05afecb97f013563541845b27048fd3f0",
            ),
            (
                73,
                "3a57e0ac3ae28941be88db60f1dc78030a7840c07d49c79a822c4fefdf436b09",
            ),
            (
                144,
                "395128d487ac4caaebe5727b32210d97791906da60a4551dcee577ceec98bfc4",
            ),
            (
                1000,
                "fc789f726d84fa28ae1b295d75e5c7f4c6120fd47c2d655b1ce95d1a98d0408d",
            ),
        ];
        for (len, prefix) in want {
            let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let mut h = Sha3_512::default();
            for piece in data.chunks(5) {
                h.update(piece);
            }
            let hex = h.finish_hex();
            assert!(hex.starts_with(prefix), "{len}: {hex}");
            assert_eq!(sha3_512_reader(&data[..]).unwrap(), hex);
        }
    }
}
