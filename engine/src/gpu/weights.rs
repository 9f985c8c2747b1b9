//! Weight tensors on the GPU. GGUF blocks of Q8_0 (34 bytes) and MXFP4 (17 bytes) are not 4-byte aligned, and
//! WGSL reads storage as `array<u32>`, so at upload each matrix is repacked into two regions: the blocks' values
//! (word-aligned) and then their scales. The numbers are unchanged; `format_*.wgsl` decodes this layout.
//!
//! Tensors arrive as a stream of byte chunks of any size; [`RowStream`] cuts them into whole-row pieces that never
//! straddle a destination (a row range of a split matrix, or one expert's slot), so nothing holds a whole tensor.

use crate::quant::BlockFormat;
use crate::{Error, Result};

/// The GPU layout of one weight matrix: `rows` rows of `blocks` 32-value blocks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatrixLayout {
    pub format: BlockFormat,
    pub rows: u64,
    pub blocks: u64,
}

impl MatrixLayout {
    /// Layout of a `rows × cols` matrix; `what` names the tensor in errors.
    pub fn new(format: BlockFormat, rows: u64, cols: u64, what: &str) -> Result<Self> {
        if block_words(format).is_none() {
            return Err(Error::Gpu(format!("tensor `{what}`: no GPU kernel decodes {format:?} weights")));
        }
        if !cols.is_multiple_of(32) {
            return Err(Error::Gpu(format!("tensor `{what}`: row length {cols} is not a multiple of 32")));
        }
        Ok(MatrixLayout { format, rows, blocks: cols / 32 })
    }

    fn n_blocks(&self) -> u64 {
        self.rows * self.blocks
    }

    /// Words of block values (the first region).
    pub fn value_words(&self) -> u64 {
        self.n_blocks() * block_words(self.format).unwrap_or(0) as u64
    }

    /// Words of the whole matrix: values, then scales, padded to 16 bytes so the next matrix in a buffer starts
    /// on a vec4 (kernels read weights as `array<vec4<u32>>`).
    pub fn words(&self) -> u64 {
        let scale_words = scale_bytes_per_block(self.format).map_or(0, |b| (self.n_blocks() * b).div_ceil(4));
        (self.value_words() + scale_words).next_multiple_of(4)
    }

    pub fn bytes(&self) -> u64 {
        self.words() * 4
    }

    /// GGUF bytes of one row.
    pub fn source_row_bytes(&self) -> usize {
        self.blocks as usize * 32 / self.format.block_values() * self.format.block_bytes()
    }

    /// GPU bytes of one row (scales included).
    pub fn gpu_row_bytes(&self) -> u64 {
        self.blocks
            * (block_words(self.format).unwrap_or(0) as u64 * 4 + scale_bytes_per_block(self.format).unwrap_or(0))
    }
}

/// Words of block values per 32-value block, for the formats the GPU decodes.
fn block_words(format: BlockFormat) -> Option<u32> {
    Some(match format {
        BlockFormat::Q8_0 => 8,
        BlockFormat::MXFP4 => 4,
        BlockFormat::F16 | BlockFormat::BF16 => 16,
        BlockFormat::F32 => 32,
        _ => return None,
    })
}

/// Bytes of the separate scale per block: an f16 for Q8_0, an E8M0 byte for MXFP4, none for plain types.
fn scale_bytes_per_block(format: BlockFormat) -> Option<u64> {
    match format {
        BlockFormat::Q8_0 => Some(2),
        BlockFormat::MXFP4 => Some(1),
        _ => None,
    }
}

/// Repack whole GGUF rows `row0..` of a matrix into its GPU layout and write them into `buffer`, where the
/// matrix starts at word `base`. `row0 · blocks` must keep scale writes word-aligned (a multiple of 4 rows does).
pub fn write_rows(
    queue: &wgpu::Queue,
    buffer: &wgpu::Buffer,
    base: u64,
    layout: &MatrixLayout,
    row0: u64,
    rows_bytes: &[u8],
) -> Result<()> {
    let first_block = row0 * layout.blocks;
    let values_at = (base + first_block * block_words(layout.format).unwrap_or(0) as u64) * 4;
    match layout.format {
        BlockFormat::Q8_0 | BlockFormat::MXFP4 => {
            // Q8_0: f16 d, then 32 int8. MXFP4: E8M0 exponent, then 16 bytes of nibbles.
            let block_bytes = layout.format.block_bytes();
            let n_blocks = rows_bytes.len() / block_bytes;
            let scale_len = scale_bytes_per_block(layout.format).unwrap_or(0) as usize;
            let mut values = Vec::with_capacity(n_blocks * (block_bytes - scale_len));
            let mut scales = Vec::with_capacity(n_blocks * scale_len + 3);
            for block in rows_bytes.chunks_exact(block_bytes) {
                scales.extend_from_slice(&block[..scale_len]);
                values.extend_from_slice(&block[scale_len..]);
            }
            while scales.len() % 4 != 0 {
                scales.push(0);
            }
            let scales_at = (base + layout.value_words()) * 4 + first_block * scale_len as u64;
            if !scales_at.is_multiple_of(4) {
                return Err(Error::Gpu(format!("scale write at byte {scales_at} is not word-aligned (row {row0})")));
            }
            queue.write_buffer(buffer, values_at, &values);
            queue.write_buffer(buffer, scales_at, &scales);
        }
        _ => queue.write_buffer(buffer, values_at, rows_bytes),
    }
    Ok(())
}

/// Cuts a tensor's byte stream into pieces of whole rows, each at most `piece_rows` rows and never crossing a
/// multiple of `piece_rows` (callers choose it so destinations start on such multiples).
pub struct RowStream {
    row_bytes: usize,
    piece_rows: u64,
    total_rows: u64,
    next_row: u64,
    pending: Vec<u8>,
}

impl RowStream {
    pub fn new(row_bytes: usize, piece_rows: u64, total_rows: u64) -> Self {
        RowStream { row_bytes, piece_rows: piece_rows.max(1), total_rows, next_row: 0, pending: Vec::new() }
    }

    /// Feed bytes; `emit(row0, bytes)` receives each complete piece in order.
    pub fn push(&mut self, mut bytes: &[u8], mut emit: impl FnMut(u64, &[u8]) -> Result<()>) -> Result<()> {
        while !bytes.is_empty() {
            let left_rows = self.total_rows - self.next_row;
            let piece = self.piece_rows.min(left_rows) as usize * self.row_bytes;
            if piece == 0 {
                return Err(Error::Gpu(format!("{} bytes past the end of the tensor", bytes.len())));
            }
            // Whole pieces straight from the input, without copying, when nothing is pending.
            if self.pending.is_empty() && bytes.len() >= piece {
                emit(self.next_row, &bytes[..piece])?;
                self.next_row += (piece / self.row_bytes) as u64;
                bytes = &bytes[piece..];
                continue;
            }
            let take = (piece - self.pending.len()).min(bytes.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.pending.len() == piece {
                emit(self.next_row, &self.pending)?;
                self.next_row += (piece / self.row_bytes) as u64;
                self.pending.clear();
            }
        }
        Ok(())
    }

    pub fn is_complete(&self) -> bool {
        self.next_row == self.total_rows && self.pending.is_empty()
    }

    pub fn rows_done(&self) -> u64 {
        self.next_row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_stream_cuts_pieces_at_multiples() {
        let mut s = RowStream::new(3, 4, 10);
        let data: Vec<u8> = (0..30).collect();
        let mut got = Vec::new();
        // Odd chunk sizes across piece boundaries.
        for chunk in data.chunks(7) {
            s.push(chunk, |row0, b| {
                got.push((row0, b.to_vec()));
                Ok(())
            })
            .unwrap();
        }
        assert!(s.is_complete());
        assert_eq!(got.iter().map(|(r, b)| (*r, b.len())).collect::<Vec<_>>(), vec![(0, 12), (4, 12), (8, 6)]);
        assert_eq!(got.into_iter().flat_map(|(_, b)| b).collect::<Vec<u8>>(), data);
        assert!(s.push(&[1], |_, _| Ok(())).is_err());
    }

    #[test]
    fn layouts_match_block_sizes() {
        // A 20b expert matrix: 2880 rows of 90 MXFP4 blocks = the GGUF's 17 bytes per block.
        let l = MatrixLayout::new(BlockFormat::MXFP4, 2880, 2880, "t").unwrap();
        assert_eq!(l.bytes(), 2880 * 90 * 17);
        let q = MatrixLayout::new(BlockFormat::Q8_0, 4096, 2880, "t").unwrap();
        assert_eq!(q.bytes(), 4096 * 90 * 34);
        assert!(MatrixLayout::new(BlockFormat::Q8_0, 4, 48, "t").is_err());
    }
}
