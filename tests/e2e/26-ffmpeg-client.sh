#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A standard RTSP client through the NAT router: ffmpeg (Debian's) plays
# rtsp://172.26.22.10/vod over UDP from the decoder's namespace.
#
# ffmpeg does OPTIONS, DESCRIBE (our server answers an SDP with
# "m=video 0 RTP/AVP 33"), SETUP with its own
# "Transport: RTP/AVP/UDP;unicast;client_port=27336-27337" and PLAY. The
# MPEG server 172.26.83.137 (not the RTSP server) then sends a real MPEG-TS
# clip, made by ffmpeg at the start (mpeg2video), in RTP to the router's
# WAN address. PASS iff ffmpeg records the whole clip: every datagram
# crosses the router, the recording has the clip's video stream and every
# one of its frames.
# Control: the same with the helper rule removed: ffmpeg gets no packet.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd ip nft conntrack "$PY" ffmpeg ffprobe
load_rtsp_modules

W=$E2E_WORK
PORT=27336

check "topology built" topo_movistar || e2e_exit
check "router: nft firewall + masquerade" router_nat_nft || e2e_exit
check "router: nft ct helper rule for tcp/554" attach_helper_nft rtsp 554 || e2e_exit

# frames FILE: video frames (packets) ffprobe counts in an MPEG-TS file.
frames() {
	ffprobe -v error -select_streams v:0 -count_packets \
		-show_entries stream=nb_read_packets -of default=nw=1:nk=1 "$1" 2>/dev/null |
		head -n1
}
codec() {
	ffprobe -v error -select_streams v:0 -show_entries stream=codec_name \
		-of default=nw=1:nk=1 "$1" 2>/dev/null | head -n1
}

# 4 s of test pattern, 25 frames/s, as an IPTV head end would send it.
check "test clip made with ffmpeg (mpeg2video in MPEG-TS)" \
	ffmpeg -nostdin -v error -f lavfi -i testsrc=size=176x144:rate=25 -t 4 \
		-c:v mpeg2video -g 25 -f mpegts -y "$W/clip.ts" || e2e_exit
CLIP_FRAMES=$(frames "$W/clip.ts")
CLIP_DGRAMS=$(( ($(stat -c %s "$W/clip.ts") / 188 + 6) / 7 ))
info "clip: $CLIP_FRAMES frames, $(stat -c %s "$W/clip.ts") bytes, $CLIP_DGRAMS datagrams of 7 TS packets"

# play TAG: one ffmpeg session; its recording is $W/TAG.ts, its log TAG.log.
play() {
	local tag=$1 srv

	rm -f "$W/media.done" "$W/server.ready"
	bg nsx "$NS_VOD" "$PY" "$ROLES/rtsp_server.py" --bind "$VOD4" --port 554 \
		--sdp rtp --server-port 6970-6971 \
		--log "$W/$tag.server.log" --ready-file "$W/server.ready" \
		--media-done "$W/media.done" \
		--media-cmd "ip netns exec $NS_MPEG $PY $ROLES/media.py --rtp --file $W/clip.ts --to {addr} --port {port} --src-port 48440 --interval 0.01"
	srv=$BG_PID
	busywait 60000 file_or_dead "$W/server.ready" "$srv"
	router_count_udp "$PORT"
	# -timeout: give up 5 s after the last packet (the clip's end), which
	# is also how long the control waits for a first one.
	nsx "$NS_DEC" timeout 120 ffmpeg -nostdin -hide_banner -loglevel info \
		-rtsp_transport udp -min_port "$PORT" -max_port $((PORT + 1)) \
		-timeout 5000000 -i "rtsp://$VOD4/vod" \
		-map 0 -c copy -f mpegts -y "$W/$tag.ts" >"$W/$tag.log" 2>&1
	echo $? >"$W/$tag.rc"
	busywait 15000 file_or_dead "$W/media.done" "$srv"
	kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null
	return 0
}

dump() {	# dump TAG
	echo "--- ffmpeg (rc $(cat "$W/$1.rc"))"
	tail -n 25 "$W/$1.log"
	echo "--- server"
	cat "$W/$1.server.log" "$W/media.done" 2>/dev/null
	echo "--- udp conntracks"
	nsx "$NS_RTR" conntrack -L -p udp 2>/dev/null
}

play ffmpeg
routed=$(router_udp_count)
sent=$(json_get "$W/media.done" sent)
got_frames=$(frames "$W/ffmpeg.ts")
info "ffmpeg rc $(cat "$W/ffmpeg.rc"); sent $sent datagrams, router WAN saw $routed; recorded $got_frames of $CLIP_FRAMES frames"
ok=1
check "ffmpeg's SETUP asked RTP/AVP client_port=$PORT-$((PORT + 1))" \
	grep -Eq "RTP/AVP(/UDP)?;unicast;client_port=$PORT-$((PORT + 1))" "$W/ffmpeg.server.log" || ok=0
check "ffmpeg sent OPTIONS, DESCRIBE, SETUP, PLAY and TEARDOWN" \
	eval "for m in OPTIONS DESCRIBE SETUP PLAY TEARDOWN; do grep -q \"\\\"method\\\": \\\"\$m\\\"\" '$W/ffmpeg.server.log' || exit 1; done" || ok=0
check_eq "MPEG server sent the whole clip ($CLIP_DGRAMS datagrams)" "$CLIP_DGRAMS" "$sent" || ok=0
check_eq "router got them all on its WAN side" "$CLIP_DGRAMS" "$routed" || ok=0
check_eq "ffmpeg recorded the clip's video stream" mpeg2video "$(codec "$W/ffmpeg.ts")" || ok=0
# A live stream has no end marker: the last frame's PES is only known to
# be complete when the next one starts, so a recording ends one short.
check "ffmpeg recorded every frame of the clip but the last ($got_frames of $CLIP_FRAMES)" \
	test "${got_frames:-0}" -ge $((CLIP_FRAMES - 1)) || ok=0
check "ffmpeg exited normally" grep -qx 0 "$W/ffmpeg.rc" || ok=0
[ "$ok" = 1 ] || dump ffmpeg

# --- control: no helper rule ----------------------------------------------------
check "control: helper rule removed" nsx "$NS_RTR" nft delete table inet e2e_helper
nsx "$NS_RTR" conntrack -F >/dev/null 2>&1
play control
routed=$(router_udp_count)
got_frames=$(frames "$W/control.ts")
info "control: ffmpeg rc $(cat "$W/control.rc"); router WAN saw $routed; recorded ${got_frames:-no} frames"
ok=1
check_eq "control: the clip reached the router's WAN side" "$CLIP_DGRAMS" "$routed" || ok=0
check "control: ffmpeg recorded no frame" test "${got_frames:-0}" -eq 0 || ok=0
[ "$ok" = 1 ] || dump control

e2e_exit
