"""What staff and customers write once a lead is worked: first and follow-up texts, email
subjects, the customers' replies, agents' and retail salespeople's notes, appointment
confirmations. Templates take {first}, {agent}, {store}, {vehicle} and {model}."""

TEXT_FIRST = [
    "Hi {first}, this is {agent} with {store}. Thanks for your inquiry on the {vehicle}! It's available. "
    "When would be a good time to take a look?",
    "Hi {first}! {agent} from {store} here. I got your request about the {vehicle}. Do you have a few minutes today?",
    "Hello {first}, {agent} at {store}. I just tried calling about the {model}. Text me back whenever convenient.",
]
TEXT_FOLLOW = [
    "Hi {first}, just checking in on the {model}. Any questions I can answer?",
    "{first}, we just got a couple more {model}s in. Want me to send you some options?",
    "Hi {first}, it's {agent} at {store}. Are you still shopping for a {model}?",
    "Good morning {first}! Would Saturday work for a quick test drive?",
    "Hi {first}, I have your numbers ready on the {model}. When is a good time to go over them?",
    "{first}, the {model} you asked about got a price drop this week. Still interested?",
]
TEXT_REPLIES = [
    "Yes still interested", "Can you text me the out the door price?", "I can come by Saturday around 11",
    "Is it still available?", "What's the lowest you can do?", "Call me after 5", "Still looking, will let you know",
    "I'm at work, can you email me the details?", "Does it have heated seats?",
    "What would my payment be with $3k down?", "ok thanks", "Thanks!", "Sounds good",
]
TEXT_LOST_REPLIES = ["We bought something already, thank you", "Not interested anymore", "Please stop texting me",
                     "Went with another dealer, thanks"]
EMAIL_SUBJECTS = [
    "Your {vehicle} quote from {store}", "Re: {model} availability", "Following up on your {model} inquiry",
    "Pictures and window sticker: {vehicle}", "Your trade-in estimate", "Lease and finance options for the {model}",
]
EMAIL_REPLIES = [
    "Thanks for the info. What would the monthly payment be over 72 months?", "Is the price negotiable?",
    "Can you send more pictures of the interior?", "I'll be in Saturday morning.", "Please call me at lunch.",
    "Not ready yet, maybe next month.", "What's my trade worth? It's in good shape.",
]
AGENT_NOTES = [
    "Customer prefers text.", "Wants payment under $450/mo.", "Waiting on credit union approval.",
    "Spouse will co-sign.", "Asked to call back after 5 pm.", "Shopping the same {model} at two other stores.",
    "Manager live turn: customer asked for best price, director spoke with him.",
]
RETAIL_NOTES = [
    "left message", "Left message", "LM", "left vm", "called, no answer", "no answer", "left message again",
    "called, mailbox full", "customer said he'll be back Saturday", "spoke w/ customer, waiting on spouse",
    "customer shopping other stores", "sent numbers", "will call back tomorrow",
]
RETAIL_OUTSIDE = [("text", "texted customer from my cell"), ("text", "sent walkaround video from my phone"),
                  ("email", "emailed numbers from personal email"), ("call", "called from my cell, left message")]
CONFIRM_REPLIES = ["C", "Confirmed, see you then", "Yes", "Running 15 min late", "Can we do an hour later?"]
