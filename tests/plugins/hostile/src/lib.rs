//! Test plugin for the host's sandbox. Each channel's `mode` picks the misbehaviour of its
//! webhooks (and sends):
//! - `loop`: spin forever, until the host's deadline;
//! - `memory`: allocate without bound, until the host's memory cap;
//! - `egress`: call `target_url` and answer 200 with `reached <status>` or `denied: <error>`,
//!   so a test sees what the outbound policy did. It declares `api.telegram.org` and
//!   `localhost` only: `localhost` is declared but resolves to loopback, which a declared host
//!   may not reach;
//! - `residue`: look for anything an earlier call left in this instance's memory (a changed
//!   initialised static, a written zeroed static, the heap beyond what it was given), answer
//!   `clean` or `residue: …`, then leave the webhook's body in all three for the next call to find;
//! - `flood`: call `target_url` 150 times in one call, then answer `reached <n>, refused <m>`;
//! - `headers`: answer a webhook with a page of script naming every request header it was given,
//!   a cookie to plant and a policy that allows everything: what a plugin would do to reach a
//!   person who opens its webhook URL on the host's own origin.

// A hostile plugin does what plugins must not be trusted not to do (read memory it was not
// given): the host's sandbox, not the plugin's manners, keeps that harmless.
#![allow(unsafe_code)]

use switchboard_sdk::*;

struct Hostile;

/// `black_box` keeps the loop from being optimised away.
fn spin() -> ! {
    let mut turns = 0u64;
    loop {
        turns = std::hint::black_box(turns.wrapping_add(1));
    }
}

fn hoard() -> ! {
    // Nonzero bytes so every page is really written, not just reserved.
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(std::hint::black_box(vec![0xA5; 1 << 20]));
    }
}

/// Initialised data: a fresh instance starts with exactly these bytes.
static mut PRISTINE: [u8; 32] = *b"as built, never written by calls";
/// Zeroed data spanning the 1 MiB the host keeps resident, written at every other page by
/// `leave_residue`: many separate dirty regions (more than a reset would batch as one).
static mut ZEROED: [u8; 1 << 20] = [0; 1 << 20];
/// Heap bytes looked at and written: past the 1 MiB the host keeps resident between calls.
const HEAP_BYTES: usize = 4 << 20;
/// Written before the secret on the heap, so this call's own leftovers are not mistaken for it.
const MARKER: &[u8] = b"RESIDUE:";

/// What an earlier call's `leave_residue` left, if anything reaches this call.
fn find_residue() -> Vec<String> {
    let mut found = Vec::new();
    // SAFETY: single-threaded component; the statics are only touched here and below.
    let (pristine, zeroed) = unsafe { (&*std::ptr::addr_of!(PRISTINE), &*std::ptr::addr_of!(ZEROED)) };
    if pristine != b"as built, never written by calls" {
        found.push(format!("initialised static: {}", String::from_utf8_lossy(pristine)));
    }
    if let Some(at) = zeroed.iter().position(|b| *b != 0) {
        found.push(format!("zeroed static at {at}: {}", String::from_utf8_lossy(&zeroed[at..(at + 32).min(zeroed.len())])));
    }
    // A hostile plugin reads memory it was not given (uninitialised heap): exactly what the
    // host must make harmless, so volatile reads keep the compiler from assuming anything.
    let layout = std::alloc::Layout::from_size_align(HEAP_BYTES, 8).unwrap();
    // This call's own freed buffers are there too: only the marker counts.
    let heap = unsafe { std::alloc::alloc(layout) };
    let bytes: Vec<u8> = (0..HEAP_BYTES).map(|i| unsafe { std::ptr::read_volatile(heap.add(i)) }).collect();
    if let Some(at) = bytes.windows(MARKER.len()).position(|w| w == MARKER) {
        found.push(format!("heap at {at}: {}", String::from_utf8_lossy(&bytes[at..(at + 48).min(HEAP_BYTES)])));
    }
    unsafe { std::alloc::dealloc(heap, layout) };
    found
}

/// Writes `secret` everywhere `find_residue` looks (the heap copy freed, as a plugin frees its
/// buffers: the allocator hands the same bytes out again, uncleared).
fn leave_residue(secret: &[u8]) {
    let secret = if secret.is_empty() { b"(empty)".as_slice() } else { secret };
    unsafe {
        let pristine = &mut *std::ptr::addr_of_mut!(PRISTINE);
        let n = secret.len().min(pristine.len());
        pristine[..n].copy_from_slice(&secret[..n]);
        let zeroed = &mut *std::ptr::addr_of_mut!(ZEROED);
        for page in zeroed.chunks_mut(4096).step_by(2) {
            let n = secret.len().min(page.len());
            page[..n].copy_from_slice(&secret[..n]);
        }
    }
    let heap: Vec<u8> = MARKER.iter().chain(secret).copied().cycle().take(HEAP_BYTES).collect();
    drop(std::hint::black_box(heap));
}

fn misbehave(ctx: &ChannelContext, request: Option<&HttpRequest>) -> Result<String, ChannelError> {
    let body = request.map_or(&[][..], |r| &r.body[..]);
    match ctx.require("mode")? {
        "loop" => spin(),
        "memory" => hoard(),
        // `x-residue-self-check`: leave, then look, in one call, to show the looking finds it.
        "residue" if request.is_some_and(|r| r.header("x-residue-self-check").is_some()) => {
            leave_residue(body);
            Ok(format!("residue: {}", find_residue().join("; ")))
        }
        "flood" => {
            let target = ctx.require("target_url")?;
            let reached = (0..150).filter(|_| http::get(target).send().is_ok()).count();
            Ok(format!("reached {reached}, refused {}", 150 - reached))
        }
        "residue" => {
            let found = find_residue();
            leave_residue(body);
            Ok(if found.is_empty() { "clean".into() } else { format!("residue: {}", found.join("; ")) })
        }
        _ => Ok(match http::get(ctx.require("target_url")?).send() {
            Ok(response) => format!("reached {}", response.status),
            Err(error) => format!("denied: {error}"),
        }),
    }
}

impl Channel for Hostile {
    fn manifest() -> Manifest {
        Manifest {
            id: "hostile".into(),
            name: "Hostile".into(),
            version: "0.1.0".into(),
            description: "Test plugin: misbehaves as its mode says".into(),
            capabilities: vec![],
            outbound_hosts: vec!["api.telegram.org".into(), "localhost".into()],
        }
    }

    fn settings_schema() -> Vec<Field> {
        vec![
            Field::new("mode", "Mode", FieldKind::Select).required().options([("loop", "loop"), ("memory", "memory"), ("egress", "egress"), ("residue", "residue"), ("headers", "headers"), ("flood", "flood")]),
            Field::new("target_url", "Target URL (egress)", FieldKind::Text),
        ]
    }

    fn connect(ctx: &ChannelContext) -> Result<Connection, ChannelError> {
        Ok(Connection { display_name: "hostile".into(), external_account_id: ctx.channel_id.clone(), setup: vec![] })
    }

    fn handle_webhook(ctx: &ChannelContext, request: HttpRequest) -> Result<WebhookOutcome, ChannelError> {
        if ctx.require("mode")? == "headers" {
            let seen: Vec<&str> = request.headers.iter().map(|(name, _)| name.as_str()).collect();
            let headers = vec![
                ("content-type".into(), "text/html".into()),
                ("set-cookie".into(), "sb_session=planted; Path=/".into()),
                ("content-security-policy".into(), "default-src *".into()),
            ];
            let body = format!("<script>fetch('/api/v1/tokens')</script>seen: {}", seen.join(",")).into_bytes();
            return Ok(WebhookOutcome { response: HttpResponse { status: 200, headers, body }, events: vec![] });
        }
        Ok(WebhookOutcome { response: HttpResponse::text(200, misbehave(ctx, Some(&request))?), events: vec![] })
    }

    fn send(ctx: &ChannelContext, _: OutboundMessage) -> Result<Receipt, ChannelError> {
        Err(ChannelError::Provider(misbehave(ctx, None)?))
    }
}

export_channel!(Hostile);
