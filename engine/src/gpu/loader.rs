//! The streaming intake: every weight buffer allocated up front from [`BufferSizes`], tensor bytes taken chunk by
//! chunk (any chunking, file order within a tensor) and cut into whole rows, and at the end the typed
//! [`GpuWeights`] the forward recording reads — named fields, as in `model::cpu`, and no lookups by name after.

use std::collections::HashMap;
use std::rc::Rc;

use super::buffers::{adapter_binding_limit, weight_limit, Allocator, BufferSizes, TensorBuffers};
use super::kernels::AttentionTiling;
use super::model::GpuModel;
use super::paging::{ExpertFileRange, ExpertPart, ExpertPools};
use super::shaders::{Kernel, KvStorage};
use super::weights::{MatrixLayout, RowStream, WeightUpload};
use super::{GpuContext, GpuOptions};
use crate::events::EventSink;
use crate::model::config::{layer_tensor, GptOssConfig, TensorPlan};
use crate::quant::{dequantize_row, BlockFormat};
use crate::{Error, Result};

/// A weight matrix on the GPU: row ranges of `rows_per_part` rows, each in its own buffer within one binding.
pub(super) struct GpuMatrix {
    /// Its GGUF name, which labels its dispatches.
    pub name: String,
    pub layout: MatrixLayout,
    pub rows_per_part: u64,
    /// (first row, rows, buffer) per part.
    pub parts: Vec<(u64, u64, wgpu::Buffer)>,
}

/// One layer's weights; the fields mirror `model::cpu`'s `Layer`, the expert stacks living in `experts`.
pub(super) struct GpuLayer {
    pub attn_norm: wgpu::Buffer,
    pub wq: GpuMatrix,
    pub bq: wgpu::Buffer,
    pub wk: GpuMatrix,
    pub bk: wgpu::Buffer,
    pub wv: GpuMatrix,
    pub bv: wgpu::Buffer,
    pub wo: GpuMatrix,
    pub bo: wgpu::Buffer,
    /// One learned logit per q head.
    pub sinks: wgpu::Buffer,
    pub post_attention_norm: wgpu::Buffer,
    pub router: GpuMatrix,
    pub router_bias: wgpu::Buffer,
    /// Gate, up and down of every resident expert.
    pub experts: ExpertPools,
    /// Row e is expert e's.
    pub gate_bias: wgpu::Buffer,
    pub up_bias: wgpu::Buffer,
    pub down_bias: wgpu::Buffer,
}

pub(super) struct GpuWeights {
    pub embedding: GpuMatrix,
    pub layers: Vec<GpuLayer>,
    pub output_norm: wgpu::Buffer,
    pub output: GpuMatrix,
}

/// What a streamed tensor's bytes turn into on the GPU.
enum Intake {
    Matrix { stream: RowStream, matrix: GpuMatrix },
    Experts { stream: RowStream, layer: usize, part: ExpertPart },
    Vector { format: BlockFormat, values: u64, bytes: Vec<u8>, buffer: wgpu::Buffer },
}

/// Builds a [`GpuModel`] from streamed tensor bytes: `push` every planned tensor's bytes in order (any chunking),
/// then `finish`.
pub struct GpuLoader {
    ctx: Rc<GpuContext>,
    config: GptOssConfig,
    options: GpuOptions,
    sizes: BufferSizes,
    alloc: Allocator,
    intake: HashMap<String, Intake>,
    pools: Vec<ExpertPools>,
    /// Taken by the model at `finish` (paging uploads through it).
    upload: Option<WeightUpload>,
    /// Where each layer's experts are in the file, for paging.
    expert_files: Option<Vec<[ExpertFileRange; 3]>>,
    error_scope: Option<wgpu::ErrorScopeGuard>,
}

impl GpuLoader {
    /// Check the model's shape against every kernel's limits and the adapter's binding limit, then allocate every
    /// weight buffer for `plan` (sized and split for that limit), ready to receive tensor bytes. An allocation the
    /// device cannot make (its out-of-memory error scope) fails here, before a byte of weights is fetched.
    pub async fn new(
        ctx: Rc<GpuContext>,
        config: GptOssConfig,
        plan: TensorPlan,
        options: GpuOptions,
        events: &mut dyn EventSink,
    ) -> Result<Self> {
        Kernel::check_all(&config)?;
        let kv = KvStorage::resolve(options.kv_storage, ctx.report.shader_f16)?;
        let binding = adapter_binding_limit(&ctx.report);
        let sizes = BufferSizes::new(&config, &plan, &options, kv, weight_limit(binding, &options))?;
        let over = sizes.over_limits(binding);
        if !over.is_empty() {
            return Err(Error::Gpu(format!(
                "the model does not fit this adapter at context {}: {}",
                options.context,
                over.join("; ")
            )));
        }
        let error_scope = Some(ctx.device.push_error_scope(wgpu::ErrorFilter::Validation));
        let out_of_memory = ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let mut alloc = Allocator::new(ctx.clone());
        let upload = WeightUpload::new(ctx.clone(), &mut alloc, sizes.upload_piece);
        alloc.flush(events);
        let mut loader = GpuLoader {
            upload: Some(upload?),
            alloc,
            ctx,
            config,
            options,
            sizes,
            intake: HashMap::new(),
            pools: Vec::new(),
            expert_files: None,
            error_scope,
        };
        let allocated = loader.allocate(&plan);
        loader.alloc.flush(events);
        // Popped before `allocated?` can drop the loader, whose validation scope lies under this one: wgpu panics
        // on scopes popped out of order.
        let out_of_memory = out_of_memory.pop().await;
        allocated?;
        if let Some(e) = out_of_memory {
            return Err(loader.alloc.out_of_memory("the weights and expert slots", e));
        }
        Ok(loader)
    }

    fn allocate(&mut self, plan: &TensorPlan) -> Result<()> {
        for (t, (name, buffers)) in plan.tensors.iter().zip(self.sizes.tensors.clone()) {
            let intake = match buffers {
                TensorBuffers::Experts { layer, part, layout, experts } => {
                    if part == ExpertPart::Gate {
                        if self.pools.len() != layer {
                            return Err(Error::Model(format!("layer {layer}'s experts arrived out of order")));
                        }
                        self.pools.push(ExpertPools::allocate(self.sizes.pools[layer], layer, &mut self.alloc)?);
                    }
                    let stream = RowStream::new(layout.source_row_bytes(), layout.rows, layout.rows * experts);
                    Intake::Experts { stream, layer, part }
                }
                TensorBuffers::Matrix { layout, piece_rows, rows_per_part } => {
                    let all = TensorBuffers::matrix_parts(&layout, rows_per_part);
                    let mut parts = Vec::new();
                    for &(row0, rows) in &all {
                        let label =
                            if all.len() == 1 { name.clone() } else { format!("{name}[rows {row0}..{}]", row0 + rows) };
                        parts.push((row0, rows, self.alloc.weight(&label, MatrixLayout { rows, ..layout }.bytes())?));
                    }
                    let stream = RowStream::new(layout.source_row_bytes(), piece_rows, layout.rows);
                    Intake::Matrix { stream, matrix: GpuMatrix { name: name.clone(), layout, rows_per_part, parts } }
                }
                TensorBuffers::Vector { values } => {
                    let buffer = self.alloc.weight(&name, values * 4)?;
                    Intake::Vector { format: t.format, values, bytes: Vec::new(), buffer }
                }
            };
            self.intake.insert(name, intake);
        }
        if self.pools.len() != self.config.n_layer {
            return Err(Error::Model(format!(
                "expert tensors found for {} of {} layers",
                self.pools.len(),
                self.config.n_layer
            )));
        }
        Ok(())
    }

    /// Where each layer's gate, up and down experts are in the file; needed when the budget pages experts.
    pub fn set_expert_files(&mut self, files: Vec<[ExpertFileRange; 3]>) {
        self.expert_files = Some(files);
    }

    pub fn n_layer(&self) -> usize {
        self.config.n_layer
    }

    /// Whether the expert budget leaves some experts out of GPU memory.
    pub fn pages_experts(&self) -> bool {
        self.sizes.paging_readback.is_some()
    }

    /// Every buffer the model will take.
    pub fn sizes(&self) -> &BufferSizes {
        &self.sizes
    }

    /// Stream the next bytes of tensor `name` (consecutive chunks in file order).
    pub fn push(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        // Writes to a lost device vanish without an error: stop the load at the first chunk after the loss.
        if let Some(why) = self.ctx.lost() {
            return Err(Error::GpuLost(why));
        }
        let upload =
            self.upload.as_ref().ok_or_else(|| Error::Gpu("tensor bytes pushed after the load finished".into()))?;
        let intake = self
            .intake
            .get_mut(name)
            .ok_or_else(|| Error::Gpu(format!("tensor `{name}` is not part of the load plan")))?;
        match intake {
            Intake::Matrix { stream, matrix } => stream.push(bytes, |row0, piece| {
                let (part_row0, rows, buffer) = &matrix.parts[(row0 / matrix.rows_per_part) as usize];
                let layout = MatrixLayout { rows: *rows, ..matrix.layout };
                upload.write_rows(buffer, 0, &layout, row0 - part_row0, piece)
            }),
            Intake::Experts { stream, layer, part } => {
                let (pools, part) = (&self.pools[*layer], *part);
                let rows_per_expert = pools.part_offset(part).1.rows;
                stream.push(bytes, |row0, piece| {
                    let expert = row0 / rows_per_expert;
                    if expert >= pools.sizes.slots {
                        // Not resident at the start: paged in from the file when a token needs it.
                        return Ok(());
                    }
                    pools.write_rows(upload, expert, part, row0 % rows_per_expert, piece)
                })
            }
            Intake::Vector { bytes: pending, .. } => {
                pending.extend_from_slice(bytes);
                Ok(())
            }
        }
    }

    /// Check every tensor arrived whole, build activations, pipelines and bind groups, and surface any GPU
    /// validation error raised while loading.
    pub async fn finish(mut self, events: &mut dyn EventSink) -> Result<GpuModel> {
        let model = self.finish_buffers().await;
        self.alloc.flush(events);
        model
    }

    async fn finish_buffers(&mut self) -> Result<GpuModel> {
        let mut resident = HashMap::new();
        for (name, intake) in std::mem::take(&mut self.intake) {
            match intake {
                Intake::Matrix { stream, .. } | Intake::Experts { stream, .. } if !stream.is_complete() => {
                    return Err(Error::Gpu(format!(
                        "tensor `{name}`: only {} rows arrived before the load finished",
                        stream.rows_done()
                    )));
                }
                Intake::Matrix { matrix, .. } => {
                    resident.insert(name, Resident::Matrix(matrix));
                }
                Intake::Experts { .. } => {}
                Intake::Vector { format, values: want, bytes, buffer } => {
                    let n = bytes.len() / format.block_bytes() * format.block_values();
                    let mut values = vec![0f32; n];
                    dequantize_row(format, &bytes, &mut values)
                        .map_err(|e| Error::Gpu(format!("tensor `{name}`: {e}")))?;
                    if values.len() as u64 != want {
                        return Err(Error::Gpu(format!(
                            "tensor `{name}`: {} values arrived, {want} expected",
                            values.len()
                        )));
                    }
                    self.ctx.queue.write_buffer(&buffer, 0, bytemuck::cast_slice(&values));
                    resident.insert(name, Resident::Vector(buffer));
                }
            }
        }
        let weights = Loaded(resident).into_weights(std::mem::take(&mut self.pools))?;
        let paging_files = match (self.pages_experts(), self.expert_files.take()) {
            (false, _) => None,
            (true, Some(files)) => Some(files),
            (true, None) => {
                return Err(Error::Gpu(
                    "the expert budget pages experts, but the loader was not told where they are in the file".into(),
                ))
            }
        };
        let c = &self.config;
        let tiling = AttentionTiling::new(c.n_head, c.n_head_kv, c.head_dim)
            .map_err(|e| Error::Gpu(format!("kernel attention: {e}")))?;
        let out_of_memory = self.ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let model = GpuModel::build(
            self.ctx.clone(),
            self.config.clone(),
            self.options.clone(),
            self.sizes.clone(),
            tiling,
            weights,
            paging_files,
            self.upload.take().ok_or_else(|| Error::Gpu("the load was finished twice".into()))?,
            &mut self.alloc,
        )?;
        if let Some(e) = out_of_memory.pop().await {
            return Err(self.alloc.out_of_memory("the KV caches and activations", e));
        }
        if let Some(scope) = self.error_scope.take() {
            if let Some(e) = scope.pop().await {
                return Err(Error::Gpu(format!("loading the model on the GPU failed: {e}")));
            }
        }
        Ok(model)
    }
}

/// A tensor whose bytes have all arrived.
enum Resident {
    Matrix(GpuMatrix),
    Vector(wgpu::Buffer),
}

/// The loaded tensors by GGUF name, taken once each into [`GpuWeights`].
struct Loaded(HashMap<String, Resident>);

impl Loaded {
    fn matrix(&mut self, name: &str) -> Result<GpuMatrix> {
        match self.0.remove(name) {
            Some(Resident::Matrix(m)) => Ok(m),
            _ => Err(Error::Gpu(format!("matrix `{name}` was not loaded"))),
        }
    }

    fn vector(&mut self, name: &str) -> Result<wgpu::Buffer> {
        match self.0.remove(name) {
            Some(Resident::Vector(b)) => Ok(b),
            _ => Err(Error::Gpu(format!("tensor `{name}` was not loaded as a vector"))),
        }
    }

    /// The typed weights, as `CpuModel::load` builds them.
    fn into_weights(mut self, pools: Vec<ExpertPools>) -> Result<GpuWeights> {
        let mut layers = Vec::new();
        for (il, experts) in pools.into_iter().enumerate() {
            let n = |t: &str| layer_tensor(il, t);
            layers.push(GpuLayer {
                attn_norm: self.vector(&n("attn_norm.weight"))?,
                wq: self.matrix(&n("attn_q.weight"))?,
                bq: self.vector(&n("attn_q.bias"))?,
                wk: self.matrix(&n("attn_k.weight"))?,
                bk: self.vector(&n("attn_k.bias"))?,
                wv: self.matrix(&n("attn_v.weight"))?,
                bv: self.vector(&n("attn_v.bias"))?,
                wo: self.matrix(&n("attn_output.weight"))?,
                bo: self.vector(&n("attn_output.bias"))?,
                sinks: self.vector(&n("attn_sinks.weight"))?,
                post_attention_norm: self.vector(&n("post_attention_norm.weight"))?,
                router: self.matrix(&n("ffn_gate_inp.weight"))?,
                router_bias: self.vector(&n("ffn_gate_inp.bias"))?,
                experts,
                gate_bias: self.vector(&n("ffn_gate_exps.bias"))?,
                up_bias: self.vector(&n("ffn_up_exps.bias"))?,
                down_bias: self.vector(&n("ffn_down_exps.bias"))?,
            });
        }
        Ok(GpuWeights {
            embedding: self.matrix("token_embd.weight")?,
            layers,
            output_norm: self.vector("output_norm.weight")?,
            output: self.matrix("output.weight")?,
        })
    }
}
