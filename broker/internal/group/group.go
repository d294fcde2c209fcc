package group

import (
	"bytes"
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// state is a classic group's state, as in Kafka's GroupMetadata.
type state int8

const (
	stateEmpty state = iota
	statePreparingRebalance
	stateCompletingRebalance
	stateStable
	stateDead
)

// String returns the state's name as DescribeGroups and ListGroups show it.
func (s state) String() string {
	switch s {
	case stateEmpty:
		return "Empty"
	case statePreparingRebalance:
		return "PreparingRebalance"
	case stateCompletingRebalance:
		return "CompletingRebalance"
	case stateStable:
		return "Stable"
	default:
		return "Dead"
	}
}

// consumerProtocolType is the protocol type of Kafka consumers, whose member
// metadata is a kmsg.ConsumerMemberMetadata.
const consumerProtocolType = "consumer"

// topicPartition names a partition whose offset a group commits.
type topicPartition struct {
	topic     string
	partition int32
}

// offset is a committed offset as stored in an OffsetCommitValue.
type offset struct {
	offset       int64
	leaderEpoch  int32
	metadata     string
	commitMillis int64
	expireMillis int64 // 0: none (only old clients ask for one)
}

// group is one consumer group. Locks: wmu, then mu (see doc.go).
type group struct {
	id        string
	partition int32

	// wmu serializes the group's changes and its appends to the Store: it
	// is held by every operation that changes the group (all but
	// Heartbeat and the read-only APIs), across the append, so that the
	// order of records in the log is the order in which they are applied.
	wmu sync.Mutex

	// mu guards everything below. An operation holding wmu may release mu
	// while it waits for its append; only Heartbeat and readers run then.
	mu sync.Mutex

	state        state
	stateTime    time.Time // when state last changed (Kafka's currentStateTimestamp)
	protocolType string    // "" until a member joins (simple groups keep "")
	protocol     string    // selected protocol of the generation; "" when none
	generation   int32
	leader       string

	members   map[string]*member
	static    map[string]string // group.instance.id -> member id
	pending   map[string]*time.Timer
	supported map[string]int // protocol name -> members supporting it
	joined    int            // members awaiting a join response
	unsynced  map[string]struct{}
	memberSeq uint64

	// subscribed is the union of consumer members' subscriptions in this
	// generation; subscribedKnown is false when it could not be read, in
	// which case every topic counts as subscribed.
	subscribed      map[string]struct{}
	subscribedKnown bool

	newMemberAdded bool // a member joined during the initial delay

	joinTimer      *time.Timer // rebalance timeout or initial delay
	joinSeq        uint64      // invalidates a joinTimer that was replaced
	initialDelay   bool        // joinTimer is the initial rebalance delay
	delayRemaining time.Duration
	syncTimer      *time.Timer // members that do not sync in time are removed
	syncSeq        uint64

	// storeEmpty is set when a completed join left the group empty; the
	// operation holding wmu then appends the empty group's metadata.
	storeEmpty bool

	offsets map[topicPartition]*offset
	// txnOffsets are transactional offsets (TxnOffsetCommit) written but
	// not yet committed, per producer id: invisible to OffsetFetch until
	// the producer's commit marker reaches the group's partition.
	txnOffsets map[int64]map[topicPartition]*offset
}

func newGroup(id string, partition int32, now time.Time) *group {
	return &group{
		id:              id,
		partition:       partition,
		state:           stateEmpty,
		stateTime:       now,
		members:         make(map[string]*member),
		static:          make(map[string]string),
		pending:         make(map[string]*time.Timer),
		supported:       make(map[string]int),
		unsynced:        make(map[string]struct{}),
		offsets:         make(map[topicPartition]*offset),
		subscribedKnown: true,
	}
}

// protocol is one protocol a member supports, with its metadata.
type protocol struct {
	name     string
	metadata []byte
}

// member is a group member. All fields are guarded by the group's mu.
type member struct {
	id               string
	instanceID       *string
	clientID         string
	clientHost       string
	rebalanceTimeout time.Duration
	sessionTimeout   time.Duration
	protocolType     string
	protocols        []protocol
	assignment       []byte
	order            uint64 // join order, for stable listings

	// isNew is set from a member's first join until its join completes;
	// such a member can time out while waiting.
	isNew bool
	// joinCh and syncCh are set while the member awaits a JoinGroup or
	// SyncGroup response; both are buffered so delivery never blocks.
	joinCh chan joinResult
	syncCh chan syncResult

	// heartbeat is the deadline of the session: a member that neither
	// heartbeats nor waits in a join or sync by then is removed.
	heartbeat time.Time
	timer     *time.Timer
	timerAt   time.Time
	gone      bool
}

func (m *member) isStatic() bool { return m.instanceID != nil }

// metadata returns the member's metadata for protocol name.
func (m *member) metadata(name string) []byte {
	for _, p := range m.protocols {
		if p.name == name {
			return p.metadata
		}
	}
	return nil
}

// sameProtocols reports whether a rejoin brings the same protocols, in the
// same order, with the same metadata (Kafka's MemberMetadata.matches).
func (m *member) sameProtocols(ps []kmsg.JoinGroupRequestProtocol) bool {
	if len(ps) != len(m.protocols) {
		return false
	}
	for i, p := range ps {
		if p.Name != m.protocols[i].name || !bytes.Equal(p.Metadata, m.protocols[i].metadata) {
			return false
		}
	}
	return true
}

// toProtocols copies a join's protocols; a name listed twice counts once.
func toProtocols(ps []kmsg.JoinGroupRequestProtocol) []protocol {
	out := make([]protocol, 0, len(ps))
	for _, p := range ps {
		if !slices.ContainsFunc(out, func(q protocol) bool { return q.name == p.Name }) {
			out = append(out, protocol{name: p.Name, metadata: bytes.Clone(p.Metadata)})
		}
	}
	return out
}

func (g *group) transition(s state, now time.Time) {
	g.state = s
	g.stateTime = now
}

// sortedMembers returns the members in join order.
func (g *group) sortedMembers() []*member {
	ms := make([]*member, 0, len(g.members))
	for _, m := range g.members {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b *member) int { return cmp.Compare(a.order, b.order) })
	return ms
}

// supportsProtocols is Kafka's GroupMetadata.supportsProtocols: the first
// member sets the protocol type; later ones must match it and share at
// least one protocol with every member.
func (g *group) supportsProtocols(protocolType string, ps []kmsg.JoinGroupRequestProtocol) bool {
	if len(g.members) == 0 {
		return protocolType != "" && len(ps) > 0
	}
	if protocolType != g.protocolType {
		return false
	}
	for _, p := range ps {
		if g.supported[p.Name] == len(g.members) {
			return true
		}
	}
	return false
}

// selectProtocol picks the protocol of the next generation: each member
// votes for its most preferred protocol that every member supports; the
// most votes win, ties going to the leader's preference.
func (g *group) selectProtocol() string {
	votes := make(map[string]int)
	for _, m := range g.members {
		for _, p := range m.protocols {
			if g.supported[p.name] == len(g.members) {
				votes[p.name]++
				break
			}
		}
	}
	var order []protocol
	if l := g.members[g.leader]; l != nil {
		order = l.protocols
	} else {
		for _, m := range g.sortedMembers() {
			order = m.protocols
			break
		}
	}
	best, bestVotes := "", 0
	for _, p := range order {
		if n := votes[p.name]; n > bestVotes {
			best, bestVotes = p.name, n
		}
	}
	if best == "" {
		for name, n := range votes {
			if n > bestVotes || n == bestVotes && name < best {
				best, bestVotes = name, n
			}
		}
	}
	return best
}

// addMember adds m, which may be awaiting a join (m.joinCh set).
func (g *group) addMember(m *member) {
	if len(g.members) == 0 {
		g.protocolType = m.protocolType
	}
	g.memberSeq++
	m.order = g.memberSeq
	g.members[m.id] = m
	if m.instanceID != nil {
		g.static[*m.instanceID] = m.id
	}
	for _, p := range m.protocols {
		g.supported[p.name]++
	}
	if g.leader == "" {
		g.leader = m.id
	}
	if m.joinCh != nil {
		g.joined++
	}
}

// removeMember drops m from the group: its timer stops and a JoinGroup or
// SyncGroup it waits in gets UNKNOWN_MEMBER_ID.
func (g *group) removeMember(m *member) {
	g.answerJoin(m, joinResult{code: kerr.UnknownMemberID.Code, generation: -1})
	g.answerSync(m, syncResult{code: kerr.UnknownMemberID.Code})
	delete(g.members, m.id)
	if m.instanceID != nil && g.static[*m.instanceID] == m.id {
		delete(g.static, *m.instanceID)
	}
	for _, p := range m.protocols {
		if g.supported[p.name]--; g.supported[p.name] <= 0 {
			delete(g.supported, p.name)
		}
	}
	delete(g.unsynced, m.id)
	m.gone = true
	if m.timer != nil {
		m.timer.Stop()
	}
	if g.leader == m.id {
		g.leader = ""
		for _, o := range g.sortedMembers() {
			g.leader = o.id
			break
		}
	}
}

// updateProtocols replaces m's protocols and timeouts on a rejoin.
func (g *group) updateProtocols(m *member, ps []kmsg.JoinGroupRequestProtocol, rebalance, session time.Duration) {
	g.setProtocols(m, toProtocols(ps), rebalance, session)
}

func (g *group) setProtocols(m *member, ps []protocol, rebalance, session time.Duration) {
	for _, p := range m.protocols {
		if g.supported[p.name]--; g.supported[p.name] <= 0 {
			delete(g.supported, p.name)
		}
	}
	m.protocols = ps
	for _, p := range m.protocols {
		g.supported[p.name]++
	}
	m.rebalanceTimeout = rebalance
	m.sessionTimeout = session
}

// awaitJoin makes m wait for the join phase's end on ch, replacing (and
// answering) an earlier wait of the same member.
func (g *group) awaitJoin(m *member, ch chan joinResult) {
	if m.joinCh != nil {
		m.joinCh <- joinResult{code: kerr.RebalanceInProgress.Code, memberID: m.id, generation: -1}
	} else {
		g.joined++
	}
	m.joinCh = ch
}

// answerJoin delivers res to m if m awaits a join.
func (g *group) answerJoin(m *member, res joinResult) {
	if m.joinCh == nil {
		return
	}
	m.joinCh <- res
	m.joinCh = nil
	g.joined--
}

// answerSync delivers res to m if m awaits a sync; it reports whether it did.
func (g *group) answerSync(m *member, res syncResult) bool {
	if m.syncCh == nil {
		return false
	}
	m.syncCh <- res
	m.syncCh = nil
	return true
}

func (g *group) allJoined() bool {
	return g.joined == len(g.members) && len(g.pending) == 0
}

func (g *group) rebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range g.members {
		d = max(d, m.rebalanceTimeout)
	}
	return d
}

// staticFenced reports whether instanceID belongs to another member id.
func (g *group) staticFenced(instanceID *string, memberID string) bool {
	if instanceID == nil {
		return false
	}
	id, ok := g.static[*instanceID]
	return ok && id != memberID
}

// computeSubscribed reads the consumers' subscriptions of the selected
// protocol, as Kafka's computeSubscribedTopics does.
func (g *group) computeSubscribed() {
	g.subscribed, g.subscribedKnown = nil, false
	switch {
	case g.protocolType != consumerProtocolType:
		return
	case len(g.members) == 0:
		g.subscribedKnown = true
		return
	case g.protocol == "":
		return
	}
	topics := make(map[string]struct{})
	for _, m := range g.members {
		var meta kmsg.ConsumerMemberMetadata
		if err := meta.ReadFrom(m.metadata(g.protocol)); err != nil {
			return
		}
		for _, t := range meta.Topics {
			topics[t] = struct{}{}
		}
	}
	g.subscribed, g.subscribedKnown = topics, true
}

func (g *group) isSubscribed(topic string) bool {
	if !g.subscribedKnown {
		return true
	}
	_, ok := g.subscribed[topic]
	return ok
}

// memberList returns what the leader gets in its JoinGroup response: every
// member with its metadata for the selected protocol.
func (g *group) memberList() []kmsg.JoinGroupResponseMember {
	ms := g.sortedMembers()
	out := make([]kmsg.JoinGroupResponseMember, len(ms))
	for i, m := range ms {
		out[i] = kmsg.JoinGroupResponseMember{MemberID: m.id, InstanceID: m.instanceID, ProtocolMetadata: m.metadata(g.protocol)}
	}
	return out
}
