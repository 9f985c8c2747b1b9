//! Weight tensors on the GPU. GGUF blocks of Q8_0 (34 bytes) and MXFP4 (17 bytes) are not 4-byte aligned, and
//! WGSL reads storage as `array<u32>`, so at upload each matrix is repacked (on the GPU, `repack.wgsl`) into two
//! regions: the blocks' values (word-aligned) and then their scales. The numbers are unchanged; `format_*.wgsl`
//! decodes this layout.
//!
//! Tensors arrive as a stream of byte chunks of any size; [`RowStream`] cuts them into whole-row pieces that never
//! straddle a destination (a row range of a split matrix, or one expert's slot), so nothing holds a whole tensor.

use std::rc::Rc;

use super::buffers::Allocator;
use super::kernels::REPACK_THREADS;
use super::params::RepackParams;
use super::shaders::{self, Kernel, Variant};
use super::GpuContext;
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

/// Writes weight rows into their GPU layout: plain formats as they are, block formats through `repack.wgsl`, which
/// splits a piece's blocks into values and scales on the GPU, so the host only copies bytes (in the browser the
/// worker also drains the downloads: work per block there held the load to a tenth of the network's rate).
pub(super) struct WeightUpload {
    ctx: Rc<GpuContext>,
    pipeline: wgpu::ComputePipeline,
    /// One piece's GGUF bytes, as the file has them.
    raw: wgpu::Buffer,
    params: wgpu::Buffer,
}

impl WeightUpload {
    /// Room for pieces of up to `piece_bytes` bytes ([`BufferSizes::upload_piece`](super::BufferSizes)).
    pub fn new(ctx: Rc<GpuContext>, alloc: &mut Allocator, piece_bytes: u64) -> Result<Self> {
        let raw = alloc.activation("weight_upload.raw", upload_raw_bytes(piece_bytes))?;
        let params = alloc.uniform("weight_upload.params", std::mem::size_of::<RepackParams>() as u64)?;
        let pipeline = ctx.main_pipeline("repack", shaders::source(Kernel::Repack, Variant::Plain)?);
        Ok(WeightUpload { ctx, pipeline, raw, params })
    }

    /// Write whole GGUF rows `row0..` of a matrix into `buffer`, where the matrix starts at word `base`.
    /// `row0 · blocks` must keep scale writes word-aligned (a multiple of 4 rows does).
    pub fn write_rows(
        &self,
        buffer: &wgpu::Buffer,
        base: u64,
        layout: &MatrixLayout,
        row0: u64,
        rows_bytes: &[u8],
    ) -> Result<()> {
        let queue = &self.ctx.queue;
        let first_block = row0 * layout.blocks;
        let values_at = base + first_block * block_words(layout.format).unwrap_or(0) as u64;
        let Some(scale_len) = scale_bytes_per_block(layout.format) else {
            queue.write_buffer(buffer, values_at * 4, rows_bytes);
            return Ok(());
        };
        let block_bytes = layout.format.block_bytes();
        let n_blocks = (rows_bytes.len() / block_bytes) as u64;
        let scales_byte = (base + layout.value_words()) * 4 + first_block * scale_len;
        if !scales_byte.is_multiple_of(4) {
            return Err(Error::Gpu(format!("scale write at byte {scales_byte} is not word-aligned (row {row0})")));
        }
        if upload_raw_bytes(rows_bytes.len() as u64) > self.raw.size() {
            return Err(Error::Gpu(format!(
                "an upload piece of {} bytes is larger than the {}-byte upload buffer",
                rows_bytes.len(),
                self.raw.size()
            )));
        }
        // Buffer writes go in whole words; the last piece of a tensor may end mid-word.
        if rows_bytes.len().is_multiple_of(4) {
            queue.write_buffer(&self.raw, 0, rows_bytes);
        } else {
            let mut padded = rows_bytes.to_vec();
            padded.resize(rows_bytes.len().next_multiple_of(4), 0);
            queue.write_buffer(&self.raw, 0, &padded);
        }
        let threads = n_blocks.div_ceil(4 / scale_len) as u32;
        let groups = threads.div_ceil(REPACK_THREADS);
        let groups_x = groups.clamp(1, MAX_GROUPS);
        let params = RepackParams {
            blocks: n_blocks as u32,
            block_bytes: block_bytes as u32,
            scale_bytes: scale_len as u32,
            values_at: values_at as u32,
            scales_at: (scales_byte / 4) as u32,
            groups_x,
            ..Default::default()
        };
        queue.write_buffer(&self.params, 0, bytemuck::bytes_of(&params));
        let entries = [
            wgpu::BindGroupEntry { binding: 1, resource: self.params.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 2, resource: self.raw.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 3, resource: buffer.as_entire_binding() },
        ];
        let bind = self.ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("repack"),
            layout: &self.pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(groups_x, groups.div_ceil(groups_x), 1);
        }
        // One submission per piece: the next piece's bytes overwrite `raw` only after this one's repack (a queue's
        // writes and submissions run in the order they were issued).
        queue.submit([encoder.finish()]);
        Ok(())
    }
}

/// Workgroups per grid dimension that every adapter allows.
const MAX_GROUPS: u32 = 65535;

/// The upload buffer for pieces of `piece_bytes`: whole words, and one more, which the shader's unaligned reads
/// may touch past the last block.
pub fn upload_raw_bytes(piece_bytes: u64) -> u64 {
    piece_bytes.next_multiple_of(4) + 4
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
