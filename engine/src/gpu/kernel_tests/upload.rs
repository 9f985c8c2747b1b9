//! The weight upload (repack.wgsl) against its CPU twin: the GPU layout of `weights.rs` built here byte by byte
//! (each block's values in order, then every block's scale), for awkward shapes — a block count that ends mid scale
//! word, a second piece starting at row 4, the matrix at a non-zero word in its buffer.

use super::*;

/// The GPU layout of `rows` GGUF rows, as `weights.rs` describes it.
fn cpu_layout(layout: &MatrixLayout, gguf: &[u8]) -> Vec<u8> {
    let bb = layout.format.block_bytes();
    let scale = match layout.format {
        BlockFormat::Q8_0 => 2,
        BlockFormat::MXFP4 => 1,
        _ => return gguf.to_vec(),
    };
    let mut out: Vec<u8> = gguf.chunks_exact(bb).flat_map(|b| b[scale..].to_vec()).collect();
    out.extend(gguf.chunks_exact(bb).flat_map(|b| b[..scale].to_vec()));
    out.resize(layout.bytes() as usize, 0);
    out
}

#[test]
fn weight_upload_matches_cpu_layout() {
    let h = Harness::new();
    let mut rng = Rng(11);
    // 7 rows of 3 blocks: 21 blocks, so the last scale word is part-filled; pieces of rows 0..4 and 4..7.
    let (rows, cols, base_words) = (7usize, 96usize, 12u64);
    for format in [BlockFormat::MXFP4, BlockFormat::Q8_0, BlockFormat::F16] {
        let layout = MatrixLayout::new(format, rows as u64, cols as u64, "t").unwrap();
        let gguf: Vec<u8> = (0..rows).flat_map(|_| rng.row(format, cols)).collect();
        let buffer = h.buffer(&vec![0xAB; (base_words * 4 + layout.bytes()) as usize]);
        let upload = h.upload(gguf.len());
        let split = gguf_row(&gguf, 0, rows).len() * 4;
        upload.write_rows(&buffer, base_words, &layout, 0, &gguf[..split]).unwrap();
        upload.write_rows(&buffer, base_words, &layout, 4, &gguf[split..]).unwrap();
        let got = h.run(step(1, 0), vec![], &[], &[&buffer]).remove(0);
        let want = cpu_layout(&layout, &gguf);
        let at = (base_words * 4) as usize;
        assert!(got[..at].iter().all(|&b| b == 0xAB), "{format:?}: bytes before the matrix were overwritten");
        // Values, then whole scale words; the matrix's padding to 16 bytes past them is never written.
        let n_blocks = gguf.len() / format.block_bytes();
        let written = match format {
            BlockFormat::F16 => gguf.len(),
            _ => {
                layout.value_words() as usize * 4
                    + (want.len() - layout.value_words() as usize * 4)
                        .min((n_blocks * if format == BlockFormat::Q8_0 { 2 } else { 1 }).div_ceil(4) * 4)
            }
        };
        if let Some(i) = (0..written).find(|&i| got[at + i] != want[i]) {
            panic!("repack {format:?}: byte {i} of the matrix is {:#04x}, its CPU twin {:#04x}", got[at + i], want[i]);
        }
    }
}
